// fakewatch operator console: small progressive enhancements; every page works without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    // A window <select> submits its form when changed (the button is the no-script fallback).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // The export link follows the filters currently typed, not only the applied ones.
    var form = document.getElementById("filter-form");
    var exportLink = document.getElementById("export-csv");
    if (form && exportLink) {
      exportLink.addEventListener("click", function () {
        var params = new URLSearchParams();
        new FormData(form).forEach(function (value, key) { if (String(value).trim()) params.append(key, value); });
        var query = params.toString();
        exportLink.href = "/export.csv" + (query ? "?" + query : "");
      });
    }
  });
})();
