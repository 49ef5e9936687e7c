"""Make docs/screenshot-main-window.png: the real window, on a real (virtual) screen, with a restored photo.

    xvfb-run -s "-screen 0 1400x900x24" python -m tools.screenshot

The official weights cannot be downloaded where we build, so a seeded random network of the official size is
installed into a temporary weights folder: every part of the window is real, the restored face is noise.
The photo is matplotlib's sample portrait of Grace Hopper, read from the installed package (not committed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

SIZE = (1280, 800)
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "screenshot-main-window.png"
TIMEOUT_S = 300


def _prepare(folder: Path) -> Path:
    """Random official-size weights installed in ``folder``/weights; returns the sample photo's path."""
    import shutil

    import matplotlib
    import torch

    from codeformer_app.networks.codeformer import CodeFormer
    from codeformer_app.weights import DEFAULT_REGISTRY, import_weights, weights_dir

    torch.manual_seed(0)
    checkpoint = folder / "codeformer-random.pth"
    torch.save({"params_ema": CodeFormer().state_dict()}, checkpoint)
    import_weights(checkpoint, weights_dir(), registry=DEFAULT_REGISTRY, name="codeformer")
    photo = folder / "grace_hopper.jpg"
    shutil.copy(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", photo)
    return photo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        os.environ["CODEFORMER_APP_WEIGHTS_DIR"] = str(folder / "weights")
        photo = _prepare(folder)

        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        app = QApplication(sys.argv[:1])
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
        from codeformer_app.gui.app import create_window

        window = create_window([photo])
        window.resize(*SIZE)
        deadline = time.monotonic() + TIMEOUT_S
        while window.document is None or window.busy:
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() > deadline:
                raise SystemExit("the photo did not finish rendering in time")
        window.face_list.setCurrentRow(0)
        for _ in range(50):
            app.processEvents()
            time.sleep(0.01)
        if not window.grab().save(str(args.output)):
            raise SystemExit(f"could not write {args.output}")
        print(args.output)
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
