/* Warn before the session ends for inactivity, and offer to stay signed in (WCAG 2.2.1).
   Asks /session/status once a minute (that request does not count as activity). */
(function () {
  "use strict";
  var box = null;
  function csrf() {
    var m = document.cookie.match(/(?:^|; )_csrf_token=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function hide() { if (box) { box.remove(); box = null; } }
  function show(seconds) {
    if (box) { box.querySelector(".secs").textContent = Math.ceil(seconds / 60); return; }
    box = document.createElement("div");
    box.className = "session-warning";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-labelledby", "session-warning-text");
    box.innerHTML = '<p id="session-warning-text">You will be signed out in <span class="secs"></span> minute(s) ' +
      'because nothing has happened for a while.</p><button type="button" class="btn btn-primary">Stay signed in</button>';
    box.querySelector(".secs").textContent = Math.ceil(seconds / 60);
    box.querySelector("button").addEventListener("click", function () {
      fetch("/session/keepalive", {method: "POST", credentials: "same-origin",
        headers: {"X-CSRFToken": csrf()}}).then(hide);
    });
    document.body.appendChild(box);
    box.querySelector("button").focus();
  }
  function check() {
    fetch("/session/status", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        var left = Math.min(s.idle_seconds_left, s.absolute_seconds_left);
        if (left <= 0) { window.location.assign("/login"); return; }
        if (left <= (s.warn_seconds || 300)) { show(left); } else { hide(); }
      })
      .catch(function () { /* offline: try again next minute */ });
  }
  if (window.location.pathname.indexOf("/login") !== 0) { window.setInterval(check, 60000); }
})();
