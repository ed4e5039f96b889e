#!/usr/bin/env bash
# Refresh the vendored NHS.UK frontend (CSS, JS, icons) under static/nhsuk/ from its npm package.
# Usage: scripts/vendor_nhsuk_frontend.sh [VERSION]   (default: the pinned version below)
set -euo pipefail
VERSION="${1:-10.6.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/nhsuk"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack "nhsuk-frontend@${VERSION}" --silent >/dev/null
tar xzf "nhsuk-frontend-${VERSION}.tgz"
DIST="package/dist/nhsuk"
rm -rf "$DEST"
mkdir -p "$DEST/assets/images"
# The source maps too: the minified files name them, and the hashed-name static storage
# (collectstatic in production) fails on a reference to a missing file.
cp "$DIST/nhsuk-frontend.min.css" "$DIST/nhsuk-frontend.min.js" "$DIST/nhsuk-frontend.min.css.map" \
  "$DIST/nhsuk-frontend.min.js.map" "$DEST/"
cp "$DIST/assets/images/"* "$DEST/assets/images/"
cp "$DIST/assets/manifest.json" "$DEST/assets/"
cat > "$DEST/VERSION" <<VER
nhsuk-frontend ${VERSION} (npm package, dist/nhsuk/), vendored by scripts/vendor_nhsuk_frontend.sh
VER
cat > "$DEST/LICENCE.txt" <<'LIC'
NHS.UK frontend — https://github.com/nhsuk/nhsuk-frontend

The codebase is released under the MIT Licence (as stated in the package's README and
package.json "license": "MIT"). The documentation is © NHS England under the Open Government
Licence v3.0.

The MIT License (MIT)

Copyright (c) 2019 NHS.UK

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
LIC
echo "Vendored nhsuk-frontend ${VERSION} into ${DEST}"
