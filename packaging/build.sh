#!/usr/bin/env bash
# Build the distributable app from a clean checkout, in one command:
#   bash packaging/build.sh
# Output: build/dist/codeformer-app/ (the app folder), and on Linux build/codeformer-app-<version>-linux-<arch>.tar.gz
# and build/codeformer-app_<version>_<arch>.deb. The last line printed is the path of the app's executable.
# Check the result with: bash packaging/smoke_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
python3 -m uv sync --locked --group packaging

started=$(date +%s)
python3 -m uv run --locked --group packaging pyinstaller --noconfirm --clean \
    --distpath build/dist --workpath build/work packaging/codeformer-app.spec >&2
bundled=$(date +%s)

APP_DIR="build/dist/codeformer-app"
EXE="$PWD/$APP_DIR/codeformer-app"
if [[ "$(uname -s)" == "Linux" ]]; then
    bash packaging/linux/make_packages.sh "$APP_DIR" build >&2
fi
finished=$(date +%s)

{
    echo "bundle: $(du -sh "$APP_DIR" | cut -f1) in $((bundled - started)) s; packages: $((finished - bundled)) s"
    ls -l build/*.tar.gz build/*.deb 2>/dev/null || true
} >&2
echo "$EXE"
