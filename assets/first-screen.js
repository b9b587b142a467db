/* The first screen's charts, drawn at once from the figures the server put in the page
   (dashboard/web/prerender.py), before Dash's renderer has started. The renderer then replaces the
   whole first screen with the live page, whose charts it draws again. Runs once the page's scripts
   have run (plotly.js among them); does nothing on a page without them. */
(function () {
  function draw() {
    var data = document.getElementById('first-screen-figures');
    if (!data || !window.Plotly) { return; }
    var figures;
    try { figures = JSON.parse(data.textContent); } catch (e) { return; }
    var boxes = document.querySelectorAll('[data-first-chart]');
    for (var i = 0; i < boxes.length; i++) {
      var f = figures[+boxes[i].getAttribute('data-first-chart')];
      if (f) { window.Plotly.newPlot(boxes[i], f.data || [], f.layout || {}, f.config || {}); }
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', draw);
  } else {
    draw();
  }
})();
