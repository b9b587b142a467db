/* Before printing (or under print emulation): open every chart's "View as table" so the printout has the
   figures behind each chart, and redraw the charts at the printed page's width (assets/print.css keeps their
   containers to A4). Afterwards the tables opened here close again and the charts fit the window again. */
(function () {
  "use strict";
  var opened = [];
  function redraw() {
    if (!window.Plotly || !window.Plotly.Plots) return;
    var plots = document.querySelectorAll(".js-plotly-plot");
    for (var i = 0; i < plots.length; i++) {
      try { window.Plotly.Plots.resize(plots[i]); } catch (e) { /* a chart being redrawn */ }
    }
  }
  function before() {
    var closed = document.querySelectorAll("details.chart-table:not([open])");
    for (var i = 0; i < closed.length; i++) { closed[i].open = true; opened.push(closed[i]); }
    redraw();
  }
  function after() {
    for (var i = 0; i < opened.length; i++) opened[i].open = false;
    opened = [];
    redraw();
  }
  window.addEventListener("beforeprint", before);
  window.addEventListener("afterprint", after);
  var print = window.matchMedia("print");
  var onChange = function (e) { if (e.matches) before(); else after(); };
  if (print.addEventListener) print.addEventListener("change", onChange); else print.addListener(onChange);
}());
