"""The plotly.js partial bundle committed in assets/ matches plotly.py's plotly.js.

Rules checked:
- exactly one ``assets/plotly-*.min.js`` exists (two would both load and fight over
  ``window.Plotly``);
- its banner version equals the version in its file name and the version of the plotly.js
  that the installed plotly.py ships (``plotly/package_data/plotly.min.js``), so figures
  built in Python are drawn by the plotly.js they were written for;
- it defines ``window.Plotly`` (how dcc.Graph finds it) and registers the trace types the
  dashboard draws (scatter and bar).
"""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest

from dashboard.config import ROOT

REFRESH_HINT = (
    "Refresh the committed bundle with `scripts/fetch-plotly-bundle.sh` "
    "(it reads the version from the installed plotly.py) and commit the new "
    "assets/plotly-basic-<VERSION>.min.js."
)
BANNER_VERSION = re.compile(r"^\* plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+\S*)\s*$", re.M)
NEEDED_TRACE_TYPES = ("scatter", "bar")


def banner_version(text: str) -> str:
    """The version in a plotly.js bundle's leading comment banner."""
    match = BANNER_VERSION.search(text[:400])
    if match is None:
        raise ValueError(f"no plotly.js version banner in: {text[:200]!r}")
    return match.group(1)


def plotly_py_bundle() -> Path:
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def committed_bundles() -> list[Path]:
    return sorted((ROOT / "assets").glob("plotly-*.min.js"))


@pytest.fixture(scope="module")
def bundle() -> Path:
    bundles = committed_bundles()
    assert len(bundles) == 1, (
        f"expected exactly one assets/plotly-*.min.js, found {[p.name for p in bundles]}. "
        + REFRESH_HINT
    )
    return bundles[0]


def test_banner_parser_reads_both_banner_styles():
    assert banner_version("/**\n* plotly.js v4.1.1\n* Copyright\n*/") == "4.1.1"
    assert banner_version("/**\n* plotly.js (basic - minified) v3.0.10\n*/") == "3.0.10"
    with pytest.raises(ValueError):
        banner_version("/* some other library v1.2.3 */")


def test_bundle_version_matches_plotly_py(bundle: Path):
    ours = banner_version(bundle.read_text(encoding="utf-8", errors="replace")[:400])
    theirs = banner_version(plotly_py_bundle().read_text(encoding="utf-8", errors="replace")[:400])
    assert ours == theirs, (
        f"{bundle.name} is plotly.js v{ours} but plotly.py ships plotly.js v{theirs}. "
        + REFRESH_HINT
    )
    assert bundle.name == f"plotly-basic-{ours}.min.js", (
        f"file name {bundle.name} does not carry its banner version {ours}. " + REFRESH_HINT
    )


def test_bundle_sets_window_plotly_and_has_needed_traces(bundle: Path):
    text = bundle.read_text(encoding="utf-8", errors="replace")
    assert "window.Plotly" in text
    registered = set(re.findall(r'moduleType:"trace",name:"(\w+)"', text))
    missing = [t for t in NEEDED_TRACE_TYPES if t not in registered]
    assert not missing, f"bundle lacks trace types {missing}; it has {sorted(registered)}"
