#!/usr/bin/env bash
# Vendor plotly.js under static/plotly/ from the plotly Python package pinned in requirements.txt,
# so the bundle always matches the Python API that builds the figures (never a CDN).
# Usage: scripts/vendor_plotly.sh [PYTHON]   (default: .venv/bin/python, else python3)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${1:-}"
if [[ -z "$PYTHON" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON="python3"; fi
fi
DEST="$ROOT/static/plotly"

PINNED="$(sed -n 's/^plotly==\([^ ]*\).*/\1/p' "$ROOT/requirements.txt")"
read -r PKG_DIR PY_VERSION JS_VERSION < <("$PYTHON" - <<'PY'
import os
import plotly
from plotly.offline import get_plotlyjs_version
print(os.path.dirname(plotly.__file__), plotly.__version__, get_plotlyjs_version())
PY
)
if [[ -n "$PINNED" && "$PY_VERSION" != "$PINNED" ]]; then
  echo "plotly $PY_VERSION is installed but requirements.txt pins $PINNED: install the pin first" >&2
  exit 1
fi
SRC="$PKG_DIR/package_data/plotly.min.js"
test -s "$SRC" || { echo "missing $SRC" >&2; exit 1; }

mkdir -p "$DEST"
cp "$SRC" "$DEST/plotly.min.js"
cat > "$DEST/VERSION" <<VER
plotly.js ${JS_VERSION} (plotly/package_data/plotly.min.js from the plotly ${PY_VERSION} Python package),
vendored by scripts/vendor_plotly.sh
sha256 $(sha256sum "$DEST/plotly.min.js" | cut -d' ' -f1)
VER
cat > "$DEST/LICENCE.txt" <<'LIC'
plotly.js — https://github.com/plotly/plotly.js
Bundled in the plotly Python package (https://github.com/plotly/plotly.py), which ships it as
plotly/package_data/plotly.min.js. Both are released under the MIT License:

MIT License

Copyright (c) 2016-2026 Plotly Technologies Inc.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LIC
echo "Vendored plotly.js ${JS_VERSION} (plotly ${PY_VERSION}) into ${DEST}"
