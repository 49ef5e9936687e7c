#!/usr/bin/env bash
# Linux packages of a built app folder: a .tar.gz of the folder and a .deb that installs it into
# /opt/codeformer-app with `codeformer-app` on the PATH, a menu entry and an icon.
#   bash packaging/linux/make_packages.sh build/dist/codeformer-app build
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
APP_DIR="$(cd "$1" && pwd)"
OUT_DIR="$(mkdir -p "$2" && cd "$2" && pwd)"
NAME=codeformer-app
VERSION="$(python3 -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$ROOT/pyproject.toml")"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
MACHINE="$(uname -m)"

# --- .tar.gz: the app folder as it is; unpack anywhere and run codeformer-app/codeformer-app -------------------
TARBALL="$OUT_DIR/$NAME-$VERSION-linux-$MACHINE.tar.gz"
tar -C "$(dirname "$APP_DIR")" -cf - "$(basename "$APP_DIR")" | gzip -6 > "$TARBALL.part"
mv "$TARBALL.part" "$TARBALL"

# --- .deb ---------------------------------------------------------------------------------------------------
STAGE="$OUT_DIR/deb-root"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/icons/hicolor/256x256/apps" "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp -a "$APP_DIR" "$STAGE/opt/$NAME"
ln -s "/opt/$NAME/$NAME" "$STAGE/usr/bin/$NAME"
install -m 644 "$ROOT/resources/$NAME.desktop" "$STAGE/usr/share/applications/$NAME.desktop"
install -m 644 "$ROOT/resources/$NAME.png" "$STAGE/usr/share/icons/hicolor/256x256/apps/$NAME.png"
install -m 644 "$ROOT/resources/$NAME.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/$NAME.svg"
INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_KB@/$INSTALLED_KB/" \
    "$ROOT/packaging/linux/control.in" > "$STAGE/DEBIAN/control"
install -m 755 "$ROOT/packaging/linux/postinst" "$STAGE/DEBIAN/postinst"
install -m 755 "$ROOT/packaging/linux/postrm" "$STAGE/DEBIAN/postrm"
DEB="$OUT_DIR/${NAME}_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zzstd -z3 --build "$STAGE" "$DEB" >/dev/null
rm -rf "$STAGE"
echo "$TARBALL"
echo "$DEB"
