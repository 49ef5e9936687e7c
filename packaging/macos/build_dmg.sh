#!/usr/bin/env bash
# macOS: build "CodeFormer App.app" with PyInstaller (the spec's BUNDLE step) and pack it into a .dmg.
#   bash packaging/macos/build_dmg.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m pip install --quiet "uv==0.13.9"
python3 -m uv sync --locked --group packaging
python3 -m uv run --locked --group packaging pyinstaller --noconfirm --clean \
    --distpath build/dist --workpath build/work packaging/codeformer-app.spec >&2
VERSION="$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
APP="build/dist/CodeFormer App.app"
STAGE="build/dmg"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "CodeFormer App" -srcfolder "$STAGE" -ov -format UDZO "build/codeformer-app-$VERSION-macos.dmg" >&2
echo "$PWD/$APP/Contents/MacOS/codeformer-app-gui"
