// The first screen: the page the server sent as HTML (#first-screen, dashboard/web/prerender.py), with its
// charts drawn here by plotly.js from the figures beside them, before Dash's scripts have run. It is a
// cover over the live page: inert (no focus, no clicks, hidden from assistive technology), so people
// and screen readers work with the live page underneath, which has the same layout. It is removed when
// the live page has drawn its content and every chart; if the live page never comes (a script failed),
// the cover becomes an ordinary page after a while, its links usable.
// Then it starts Dash: its scripts (listed as text/x-dash-later, already being fetched: the head preloads them)
// run in order once the first screen has been painted, and the renderer (window.startDash) after them.
// Loaded by the page itself (not Dash's asset list), after plotly.js and before Dash's scripts.
(function () {
    "use strict";
    var started = false;
    function startDash() {
        if (started) { return; }
        started = true;
        var listed = document.querySelectorAll('script[type="text/x-dash-later"][data-src]');
        var srcs = [];
        for (var n = 0; n < listed.length; n++) { srcs.push(listed[n].getAttribute("data-src")); }
        var left = srcs.length;
        function loaded() {
            left -= 1;
            if (left === 0 && window.startDash) { window.startDash(); }
        }
        if (!left) { if (window.startDash) { window.startDash(); } return; }
        for (var i = 0; i < srcs.length; i++) {
            var tag = document.createElement("script");
            tag.src = srcs[i];
            tag.async = false;  // run in the order listed
            tag.onload = loaded;
            tag.onerror = loaded;
            document.body.appendChild(tag);
        }
    }
    function afterPaint() {
        // the frame after the next paint; a tab in the background (no frames) starts after a moment anyway
        window.requestAnimationFrame(function () { setTimeout(startDash, 0); });
        setTimeout(startDash, 250);
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", afterPaint);
    } else {
        afterPaint();
    }
})();

(function () {
    "use strict";
    var cover = document.getElementById("first-screen");
    var root = document.getElementById("react-entry-point");
    if (!cover || !root) { return; }
    var figures = cover.querySelectorAll("script.first-figure");
    for (var i = 0; i < figures.length; i++) {
        var box = figures[i].previousElementSibling;
        try {
            var fig = JSON.parse(figures[i].textContent);
            if (window.Plotly && box) { window.Plotly.newPlot(box, fig.data || [], fig.layout || {}, fig.config || {}); }
        } catch (err) { /* the live page draws it in a moment */ }
    }
    var started = Date.now();
    var GIVE_UP_MS = 20000;

    function liveReady() {
        var page = root.querySelector("#page");
        if (!page || !page.firstElementChild || !root.querySelector("#page-heading")) { return false; }
        var graphs = root.querySelectorAll(".dash-graph");
        for (var j = 0; j < graphs.length; j++) {
            if (!graphs[j].querySelector(".main-svg")) { return false; }
        }
        return true;
    }

    function uncover() {
        var plots = cover.querySelectorAll(".js-plotly-plot");
        for (var k = 0; k < plots.length; k++) {
            try { window.Plotly.purge(plots[k]); } catch (err) { /* already gone */ }
        }
        if (cover.parentNode) { cover.parentNode.removeChild(cover); }
    }

    (function check() {
        if (liveReady()) { uncover(); return; }
        if (Date.now() - started > GIVE_UP_MS) {
            if (root.querySelector("#page")) { uncover(); } else {
                cover.removeAttribute("inert");
                cover.removeAttribute("aria-hidden");
                cover.classList.add("first-screen-static");
            }
            return;
        }
        setTimeout(check, 25);
    })();
})();
