// The dashboard's chart: average merchant hours per path and week, from the page's own JSON (no network).
(function () {
  "use strict";
  var data = document.getElementById("path-trend-data");
  var canvas = document.getElementById("path-trend");
  if (!data || !canvas || typeof Chart === "undefined") {
    return;
  }
  var trend = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "line",
    data: {
      labels: trend.labels,
      datasets: trend.series.map(function (series) {
        return { label: series.label, data: series.data, spanGaps: true, tension: 0.2 };
      }),
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
  });
  canvas.dataset.drawn = "true";
})();
