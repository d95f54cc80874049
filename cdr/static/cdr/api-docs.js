// /api/docs/: Redoc over this server's OpenAPI schema (a file, not inline: the page's CSP allows no inline script).
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  var font = "system-ui, sans-serif";
  Redoc.init(root.dataset.specUrl, {
    expandResponses: "200",
    requiredPropsFirst: true,
    theme: { typography: { fontFamily: font, headings: { fontFamily: font } } },
  }, root);
})();
