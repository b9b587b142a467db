// Clientside callbacks (dashboard/web/app.py), in a file rather than inline scripts: the page runs no inline script.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashboard: {
        // the page's title from its heading (the page-title store), so the tab and history name the page
        set_title: function (title) {
            if (title) { document.title = title; }
            return window.dash_clientside.no_update;
        }
    }
});
