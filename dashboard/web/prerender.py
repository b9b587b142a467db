"""The first screen as plain HTML inside the page the server sends, before any script runs.

Rules:
- Input: the layout as JSON (the dict ``/_dash-layout`` sends, already built with the checks of who
  is asking). Output: HTML for ``#first-screen``, an inert cover over ``#react-entry-point`` that
  ``assets/first-screen.js`` removes when Dash's renderer has drawn the live page under it (the two show
  the same content, laid out the same way).
- ``html.*`` components become their own tags; ``dcc.Link`` a link; ``dcc.Graph`` the box the live graph
  has (its id, classes and height) holding an empty plot area and the figure as a JSON data block
  (``json_for_script``: ``<``, ``>`` and ``&`` escaped, so no text in a figure closes the element), which
  ``assets/first-screen.js`` draws with plotly.js; ``dcc.Input``, ``dcc.Checklist`` and
  ``dcc.RadioItems`` disabled controls with their values; ``dcc.Dropdown`` its chosen label;
  ``dcc.Store`` and ``dcc.Location`` nothing. Anything else: its children only.
- Safe by construction: every text and attribute value is escaped; attribute names are checked; a
  link goes only to this site or to http(s); no script (other than a figure's JSON data block, which
  no browser runs), style or event-handler element or attribute is ever written.
"""
from __future__ import annotations

import re

from markupsafe import escape  # the template engine's escaper (Jinja's autoescape), not a hand-made one

from ..figures import json_for_script

VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "col", "wbr", "source", "area"})
NEVER = frozenset({"script", "style", "iframe", "object", "embed", "base", "form-action"})
ATTR_NAMES = {"className": "class", "htmlFor": "for", "tabIndex": "tabindex", "colSpan": "colspan",
              "rowSpan": "rowspan", "autoComplete": "autocomplete", "readOnly": "readonly"}
PLAIN_ATTRS = frozenset({"id", "title", "role", "href", "src", "alt", "width", "height", "scope", "hidden",
                         "open", "download", "name", "type", "value", "method", "action", "list", "placeholder",
                         "lang", "dir", "headers", "datetime"})
SAFE_NAME = re.compile(r"^(aria|data)-[a-z0-9-]+$")
#: the class of a chart's figure (a JSON data block) in the first screen; assets/first-screen.js draws each
FIGURE_CLASS = "first-figure"
SAFE_URL = re.compile(r"^(/(?!/)|#|\?|https?://)", re.IGNORECASE)


def _style(style: dict) -> str:
    def css_name(k: str) -> str:
        return re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), k)
    return "; ".join(f"{css_name(k)}: {v}" for k, v in style.items()
                     if re.fullmatch(r"[A-Za-z-]+", k) and isinstance(v, (str, int, float)))


def _attrs(props: dict) -> str:
    out = []
    for key, value in props.items():
        if key in ("children", "style") or value is None or value is False:
            continue
        name = ATTR_NAMES.get(key, key)
        if name not in PLAIN_ATTRS and name not in ATTR_NAMES.values() and not SAFE_NAME.match(name):
            continue
        if name in ("href", "src", "action") and not (isinstance(value, str) and SAFE_URL.match(value)):
            continue
        if value is True:
            out.append(f" {name}")
        elif isinstance(value, (str, int, float)):
            out.append(f' {name}="{str(escape(str(value)))}"')
    style = props.get("style")
    if isinstance(style, dict) and style:
        out.append(f' style="{str(escape(_style(style)))}"')
    return "".join(out)


def to_html(node) -> str:
    """HTML for a layout node (a component dict, a list, a string or a number)."""
    if node is None or node is False:
        return ""
    if isinstance(node, (str, int, float)) and not isinstance(node, bool):
        return str(escape(str(node)))
    if isinstance(node, list):
        return "".join(to_html(n) for n in node)
    if not isinstance(node, dict) or "type" not in node:
        return ""
    kind, ns, props = node.get("type"), node.get("namespace"), node.get("props") or {}
    children = props.get("children")
    if ns == "dash_html_components" and isinstance(kind, str):
        tag = kind.lower()
        tag = {"mapel": "map", "objectel": "object"}.get(tag, tag)
        if tag in NEVER or not tag.isalnum():
            return to_html(children)
        if tag in VOID:
            return f"<{tag}{_attrs(props)}>"
        return f"<{tag}{_attrs(props)}>{to_html(children)}</{tag}>"
    if ns == "dash_core_components":
        return _dcc(kind, props)
    return to_html(children)


def _dcc(kind: str, props: dict) -> str:
    if kind == "Link":
        attrs = _attrs({"href": props.get("href"), "id": props.get("id"), "className": props.get("className"),
                        "title": props.get("title")})
        return f"<a{attrs}>{to_html(props.get('children'))}</a>"
    if kind == "Graph":
        style = props.get("style") if isinstance(props.get("style"), dict) else {}
        class_name = " ".join(c for c in ("dash-graph", props.get("className")) if isinstance(c, str) and c)
        figure = props.get("figure") if isinstance(props.get("figure"), dict) else {}
        config = props.get("config") if isinstance(props.get("config"), dict) else {}
        data = json_for_script({"data": figure.get("data") or [], "layout": figure.get("layout") or {},
                                "config": {"responsive": True, **config}})
        return (f'<div{_attrs({"id": props.get("id"), "style": style, "className": class_name})}>'
                '<div class="first-plot" style="height: 100%; width: 100%"></div>'
                f'<script type="application/json" class="{FIGURE_CLASS}">{data}</script></div>')
    if kind == "Input":
        attrs = {k: props.get(k) for k in ("id", "type", "name", "value", "placeholder", "className", "list")}
        if attrs.get("type") == "hidden":
            return ""
        return f"<input{_attrs(attrs)} disabled>"
    if kind in ("Checklist", "RadioItems"):
        chosen = props.get("value")
        chosen = set(chosen) if isinstance(chosen, list) else {chosen}
        input_type = "checkbox" if kind == "Checklist" else "radio"
        items = []
        for opt in props.get("options") or []:
            label, value = (opt.get("label"), opt.get("value")) if isinstance(opt, dict) else (opt, opt)
            checked = " checked" if value in chosen else ""
            items.append(f'<label><input type="{input_type}" disabled{checked}> {to_html(label)}</label> ')
        return f'<div{_attrs({"id": props.get("id"), "className": props.get("className")})}>{"".join(items)}</div>'
    if kind == "Dropdown":
        value = props.get("value")
        label = next((o.get("label") for o in props.get("options") or []
                      if isinstance(o, dict) and o.get("value") == value), value)
        return f'<div{_attrs({"id": props.get("id"), "className": props.get("className")})}>{to_html(label)}</div>'
    return ""  # Store, Location and the rest draw nothing
