/* The reports page's charts, drawn from the figures embedded with json_script (Chart.js vendored).
   Tick labels come from the page (local time, fitted to the period: 14:00, Mon 3, Dec). */
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("cdr-report-data");
    if (!node || typeof Chart === "undefined") return;
    var data = JSON.parse(node.textContent);
    var labelNode = document.getElementById("cdr-report-labels");
    var labels = labelNode ? JSON.parse(labelNode.textContent) : data.buckets.map(function (b) { return b.start; });
    function col(name, scale) {
      return data.buckets.map(function (b) { return b[name] === null ? null : b[name] * (scale || 1); });
    }
    function mss(s) {
      s = Math.round(s);
      return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    }
    function chart(id, type, datasets, options) {
      var canvas = document.getElementById(id);
      if (!canvas) return;
      canvas.cdrChart = new Chart(canvas, {
        type: type,
        data: { labels: labels, datasets: datasets },
        options: Object.assign({
          animation: false, responsive: true, maintainAspectRatio: false,
          scales: { x: { ticks: { autoSkip: true, maxRotation: 0 } } },
        }, options || {}),
      });
    }
    chart("cdr-chart-traffic", "bar", [
      { label: "Calls", data: col("attempts") },
      { label: "Answered", data: col("answered") },
      { label: "Failed", data: col("failed") },
    ]);
    var pct = function (v) { return v + " %"; };
    chart("cdr-chart-ratios", "line", [
      { label: "ASR %", data: col("asr", 100) },
      { label: "NER %", data: col("ner", 100) },
      { label: "Recorded %", data: col("recording_coverage", 100) },
    ], {
      scales: { x: { ticks: { autoSkip: true, maxRotation: 0 } }, y: { min: 0, max: 100, ticks: { callback: pct } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label.replace(" %", "") + ": " + c.parsed.y.toFixed(1) + " %"; } } } },
    });
    chart("cdr-chart-times", "line", [
      { label: "ACD (m:ss)", data: col("acd_s"), yAxisID: "acd" },
      { label: "PDD (s)", data: col("pdd_mean_ms", 0.001), yAxisID: "pdd" },
      { label: "PDD p95 (s)", data: col("pdd_p95_ms", 0.001), yAxisID: "pdd" },
    ], {
      scales: {
        x: { ticks: { autoSkip: true, maxRotation: 0 } },
        acd: { position: "left", min: 0, title: { display: true, text: "ACD" }, ticks: { callback: mss } },
        pdd: { position: "right", min: 0, title: { display: true, text: "PDD (s)" }, grid: { drawOnChartArea: false } },
      },
    });
    document.documentElement.dataset.cdrCharts = "drawn";
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
