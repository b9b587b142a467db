// The first screen: the page the server sent as HTML (#first-screen, dashboard/web/prerender.py), with its
// charts drawn here by plotly.js from the figures beside them, before Dash's scripts have run. It is a
// cover over the live page: inert (no focus, no clicks, hidden from assistive technology), so people
// and screen readers work with the live page underneath, which has the same layout. It is removed when
// the live page has drawn its content and every chart; if the live page never comes (a script failed),
// the cover becomes an ordinary page after a while, its links usable.
// Then it starts Dash, once the first screen has been painted: its scripts (listed as text/x-dash-later) are
// fetched and run in order, its layout and callbacks fetched beside them, and then Dash's renderer starts.
// Loaded by the page itself (not Dash's asset list), after plotly.js and before Dash's scripts.
(function () {
    "use strict";
    var started = false;
    function startRenderer() {
        if (window.DashRenderer) { window.renderer = new window.DashRenderer(); }
    }
    function startDash() {
        if (started) { return; }
        started = true;
        // only on a page whose renderer waits for this script (dashboard/web/app.py), never a second renderer
        if (!document.querySelector('script#_dash-renderer[type="text/x-dash-later"]')) { return; }
        var listed = document.querySelectorAll('script[type="text/x-dash-later"][data-src]');
        var srcs = [];
        for (var n = 0; n < listed.length; n++) { srcs.push(listed[n].getAttribute("data-src")); }
        // the renderer's first two requests, made now, beside the scripts (it finds them ready when it starts)
        var config = document.getElementById("_dash-config");
        var base = "/";
        try { base = JSON.parse(config.textContent).requests_pathname_prefix || "/"; } catch (err) { /* default */ }
        ["_dash-layout", "_dash-dependencies"].forEach(function (name) {
            var hint = document.createElement("link");
            hint.rel = "preload";
            hint.as = "fetch";
            hint.crossOrigin = "anonymous";
            hint.href = base + name;
            document.head.appendChild(hint);
        });
        var left = srcs.length;
        function loaded() {
            left -= 1;
            if (left === 0) { startRenderer(); }
        }
        if (!left) { startRenderer(); return; }
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
