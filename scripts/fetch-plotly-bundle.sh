#!/usr/bin/env bash
# Fetch the plotly.js "basic" partial bundle (scatter, bar, pie traces) from the npm registry
# and install it as assets/plotly-basic-<VERSION>.min.js, replacing any older copy.
#
# Usage: scripts/fetch-plotly-bundle.sh [VERSION]
#   VERSION defaults to the plotly.js version bundled with the installed plotly.py
#   (plotly.offline.get_plotlyjs_version()), read with $PYTHON (default: .venv/bin/python
#   when it exists, else python3).
#
# Only the maintainer runs this, when plotly.py is upgraded; the bundle is committed and the
# running app never needs npm. tests/unit/test_plotly_bundle.py fails when the two versions
# drift apart.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSETS="$ROOT/assets"

if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi

VERSION="${1:-}"
if [ -z "$VERSION" ]; then
    VERSION="$("$PYTHON" -c 'from plotly.offline import get_plotlyjs_version as v; print(v())')"
fi
case "$VERSION" in
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) echo "ERROR: '$VERSION' does not look like a plotly.js version" >&2; exit 2 ;;
esac

command -v npm >/dev/null 2>&1 || { echo "ERROR: npm is needed to fetch the bundle" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "Fetching plotly.js-basic-dist-min@$VERSION ..."
( cd "$TMP" && npm pack --silent "plotly.js-basic-dist-min@$VERSION" >/dev/null )
tar -xzf "$TMP"/plotly.js-basic-dist-min-"$VERSION".tgz -C "$TMP"
SRC="$TMP/package/plotly-basic.min.js"
[ -f "$SRC" ] || { echo "ERROR: plotly-basic.min.js not found in the npm package" >&2; exit 1; }

if ! head -c 200 "$SRC" | grep -qE "^\* plotly\.js .*v${VERSION//./\\.}\s*$"; then
    echo "ERROR: the fetched bundle's banner does not name v$VERSION:" >&2
    head -c 200 "$SRC" >&2
    exit 1
fi

mkdir -p "$ASSETS"
find "$ASSETS" -maxdepth 1 -name 'plotly-*.min.js' ! -name "plotly-basic-$VERSION.min.js" -print -delete
cp "$SRC" "$ASSETS/plotly-basic-$VERSION.min.js"
echo "Wrote assets/plotly-basic-$VERSION.min.js ($(wc -c <"$ASSETS/plotly-basic-$VERSION.min.js") bytes)"
