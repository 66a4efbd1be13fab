// Draws the charts of a dashboard page (ui/templates/dashboards/board.html) with Chart.js
// (ui/static/vendor/chart.umd.min.js) from the figures embedded as JSON in #dashboard-data.
// Each <canvas data-widget="i"> gets widget i; the same figures are in the table beside it.
(function () {
  "use strict";
  var COLORS = ["#2f6fdf", "#e0803a", "#3a9e5c", "#c2413b", "#7b5cc4", "#3aa6b9", "#b58b2a", "#8a8a8a"];

  function hours(seconds) { return seconds === null ? null : Math.round(seconds / 36) / 100; }

  function config(w) {
    var labels = w.rows.map(function (r) { return r.label; });
    var kind = w.kind, values, type = "bar", options = {}, yMax;
    if (kind === "cycle_time") {
      values = w.rows.map(function (r) { return hours(r.avg_seconds); });
      options.indexAxis = "y";
    } else if (kind === "on_time_rate") {
      values = w.rows.map(function (r) { return r.rate === null ? null : Math.round(r.rate * 1000) / 10; });
      yMax = 100;
    } else if (kind === "sum") {
      values = w.rows.map(function (r) { return r.value; });
    } else if (kind === "count") {
      values = w.rows.map(function (r) { return r.count; });
      type = "line";
    } else {
      values = w.rows.map(function (r) { return r.count; });
    }
    var zh = (document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0;
    var scale = { beginAtZero: true, ticks: {} };
    if (yMax) { scale.max = yMax; }
    if (kind === "on_time_rate") {
      scale.ticks.callback = function (v) { return v + "%"; };
    } else if (kind === "cycle_time") {
      scale.ticks.callback = function (v) { return v + (zh ? " 小时" : " h"); };
    } else if (kind !== "sum") {
      scale.ticks.precision = 0;  // counts of records: whole numbers
    }
    options.responsive = true;
    options.maintainAspectRatio = false;
    options.animation = false;
    options.plugins = { legend: { display: false }, title: { display: false } };
    options.scales = options.indexAxis === "y" ? { x: scale } : { y: scale };
    return {
      type: type,
      data: {
        labels: labels,
        datasets: [{
          label: w.title, data: values,
          backgroundColor: type === "line" ? COLORS[0] : labels.map(function (_, i) { return COLORS[i % COLORS.length]; }),
          borderColor: COLORS[0], tension: 0, fill: false
        }]
      },
      options: options
    };
  }

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart === "undefined") { return; }
    var figures = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-widget]").forEach(function (canvas) {
      var w = figures.widgets[Number(canvas.getAttribute("data-widget"))];
      if (w) { new window.Chart(canvas, config(w)); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
