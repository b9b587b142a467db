/* Dash 4's dcc.Dropdown, made to pass WCAG 2.2 (axe-core) without changing how it works.
 *
 * Dash draws each dropdown as a focusable but aria-hidden proxy <input class="dash-dropdown-focus-target">
 * (tabindex 0) that hands focus on to the real trigger, a <button tabindex="-1">: axe's aria-hidden-focus.
 * Here the button takes the tab stop itself and the hidden proxy leaves the tab order (the button puts the
 * proxy back when it loses focus, so this is kept up). Dash names the button by its selected values
 * (aria-labelledby), which is not its visible text and hides its <label> (label-content-name-mismatch): the
 * <label> names it instead, and the selected values (and any hint) describe it.
 */
(function () {
  "use strict";
  function fix() {
    var proxies = document.querySelectorAll(".dash-dropdown-focus-target");
    for (var i = 0; i < proxies.length; i++) {
      var proxy = proxies[i], button = proxy.nextElementSibling;
      if (proxy.tabIndex !== -1) proxy.tabIndex = -1;
      if (!button || button.tagName !== "BUTTON") continue;
      if (!button.disabled && button.tabIndex !== 0) button.tabIndex = 0;
      var label = button.id && document.querySelector('label[for="' + CSS.escape(button.id) + '"]');
      var by = button.getAttribute("aria-labelledby");
      if (!label || !by) continue;
      button.removeAttribute("aria-labelledby");
      var ids = by.split(/\s+/).concat([button.id + "-hint"]).filter(function (id) {
        return id && document.getElementById(id);
      });
      if (ids.length) button.setAttribute("aria-describedby", ids.join(" "));
    }
  }
  var queued = false;
  new MutationObserver(function () {
    if (queued) return;
    queued = true;
    Promise.resolve().then(function () { queued = false; fix(); });
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                        attributeFilter: ["tabindex", "aria-labelledby"]});
  fix();
}());
