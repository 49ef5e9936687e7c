#!/usr/bin/env bash
# Smoke test of a built app (run after build.sh), in one command:
#   bash packaging/smoke_test.sh [path/to/codeformer-app]
#   bash packaging/smoke_test.sh --deb      # the same through the .deb: installed with dpkg, run, removed (root)
# Restores a real photo with test weights (seeded random networks saved like the official files, imported
# through the app's own `weights import`), runs a batch, starts the window offscreen with `gui --check` (it
# quits once the networks are loaded), then restores again with RetinaFace, ParseNet and Real-ESRGAN x2.
# Uses only the built program plus the development environment (for the test weights and the sample photo).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DEB=""
if [[ "${1:-}" == "--deb" ]]; then
    DEB="$(ls build/codeformer-app_*.deb | tail -1)"
    echo "--- dpkg -i $DEB" >&2
    dpkg -i "$DEB" >&2
    trap 'rm -rf "$WORK"; dpkg -r codeformer-app >&2 || true' EXIT
    EXE="$(command -v codeformer-app)"
    [[ "$(readlink -f "$EXE")" == /opt/codeformer-app/codeformer-app ]]
    test -f /usr/share/applications/codeformer-app.desktop
    test -f /usr/share/icons/hicolor/256x256/apps/codeformer-app.png
else
    EXE="${1:-$PWD/build/dist/codeformer-app/codeformer-app}"
fi
export CODEFORMER_APP_WEIGHTS_DIR="$WORK/weights" XDG_CONFIG_HOME="$WORK/config" QT_QPA_PLATFORM=offscreen

step() { echo "--- $*" >&2; }
python3 -m uv run --locked python packaging/smoke_inputs.py "$WORK" >&2

step "version";           "$EXE" --version
step "weights import";    "$EXE" weights import "$WORK/test-codeformer.pth"
step "weights list";      "$EXE" weights list
step "restore";           "$EXE" restore "$WORK/in/grace_hopper.jpg" -o "$WORK/out"
step "batch";             "$EXE" batch "$WORK/in" "$WORK/batch-out"
step "gui --check";       "$EXE" gui --check
step "identity";          "$EXE" identity "$WORK/in/grace_hopper.jpg" "$WORK/in/grace_hopper.jpg" --json
step "optional networks"
for name in retinaface parsenet realesrgan-x2; do "$EXE" weights import "$WORK/test-$name.pth" --name "$name" --force; done
step "restore with RetinaFace, ParseNet and Real-ESRGAN x2"
"$EXE" restore "$WORK/in/grace_hopper.jpg" -o "$WORK/out-all-networks" --detector retinaface --upscale 2 --max-faces 2
python3 -m uv run --locked python packaging/smoke_inputs.py "$WORK" --verify >&2
if [[ -n "$DEB" ]]; then
    step "dpkg -r"
    dpkg -r codeformer-app >&2
    trap 'rm -rf "$WORK"' EXIT
    for left in /opt/codeformer-app /usr/bin/codeformer-app /usr/share/applications/codeformer-app.desktop \
        /usr/share/icons/hicolor/256x256/apps/codeformer-app.png; do
        if [[ -e "$left" ]]; then echo "left behind after removal: $left" >&2; exit 1; fi
    done
fi
echo "smoke test passed: $EXE"
