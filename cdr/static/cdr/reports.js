/* The reports page's charts, drawn from the figures embedded with json_script (Chart.js vendored). */
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("cdr-report-data");
    if (!node || typeof Chart === "undefined") return;
    var data = JSON.parse(node.textContent);
    // Hours keep their UTC offset: the repeated hour of a 25-hour day must stay two labels.
    var labels = data.buckets.map(function (b) {
      return data.bucket === "hour" ? b.start.slice(0, 16).replace("T", " ") + b.start.slice(19) : b.start.slice(0, 10);
    });
    function col(name) { return data.buckets.map(function (b) { return b[name]; }); }
    function chart(id, type, datasets, options) {
      var canvas = document.getElementById(id);
      if (!canvas) return;
      canvas.cdrChart = new Chart(canvas, {
        type: type,
        data: { labels: labels, datasets: datasets },
        options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, options || {}),
      });
    }
    chart("cdr-chart-traffic", "bar", [
      { label: "attempts", data: col("attempts") },
      { label: "answered", data: col("answered") },
      { label: "failed", data: col("failed") },
    ]);
    chart("cdr-chart-ratios", "line", [
      { label: "ASR", data: col("asr") },
      { label: "NER", data: col("ner") },
      { label: "recording coverage", data: col("recording_coverage") },
    ], { scales: { y: { min: 0, max: 1 } } });
    chart("cdr-chart-times", "line", [
      { label: "ACD (s)", data: col("acd_s"), yAxisID: "s" },
      { label: "PDD mean (ms)", data: col("pdd_mean_ms"), yAxisID: "ms" },
      { label: "PDD p95 (ms)", data: col("pdd_p95_ms"), yAxisID: "ms" },
    ], { scales: { s: { position: "left", min: 0 }, ms: { position: "right", min: 0 } } });
    document.documentElement.dataset.cdrCharts = "drawn";
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
