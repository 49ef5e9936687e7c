"""Inputs for packaging/smoke_test.sh, and the check of its outputs (run in the development environment).

    python packaging/smoke_inputs.py WORK            # test weights + a folder with a real photo
    python packaging/smoke_inputs.py WORK --verify   # the restored photos exist, are readable, right size

Test weights: a tiny CodeFormer, and RetinaFace, ParseNet and Real-ESRGAN x2 at their official sizes, all
seeded random and saved like the official files, so the bundle's every network path runs.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

#: A tiny CodeFormer: the real architecture, small enough to save and run in a second.
TEST_CONFIG = {
    "img_size": 64,
    "nf": 32,
    "ch_mult": (1, 1, 2, 2),
    "attn_resolutions": (8,),
    "latent_size": 64,
    "connect_list": (32, 64),
    "emb_dim": 32,
    "dim_embd": 32,
    "n_layers": 1,
    "codebook_size": 16,
}


def prepare(work: Path) -> None:
    import matplotlib
    import torch
    from facexlib.parsing.parsenet import ParseNet

    from codeformer_app.compat import import_basicsr
    from codeformer_app.networks.codeformer import CodeFormer
    from codeformer_app.networks.retinaface.load import build_network

    torch.manual_seed(0)
    torch.save({"params_ema": CodeFormer(**TEST_CONFIG).state_dict()}, work / "test-codeformer.pth")
    retinaface = {f"module.{key}": value for key, value in build_network().state_dict().items()}
    torch.save(retinaface, work / "test-retinaface.pth")
    torch.save(ParseNet(in_size=512, out_size=512, parsing_ch=19).state_dict(), work / "test-parsenet.pth")
    rrdbnet = import_basicsr("archs.rrdbnet_arch").RRDBNet(
        num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2
    )
    torch.save({"params_ema": rrdbnet.state_dict()}, work / "test-realesrgan-x2.pth")
    (work / "in").mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", work / "in")


def verify(work: Path) -> None:
    from codeformer_app.imaging import read_photo

    source = read_photo(work / "in" / "grace_hopper.jpg")
    width, height = source.size
    expected = {
        work / "out" / "grace_hopper.jpg": (width, height),
        work / "batch-out" / "grace_hopper.jpg": (width, height),
        work / "out-all-networks" / "grace_hopper.jpg": (2 * width, 2 * height),
    }
    for result, size in expected.items():
        restored = read_photo(result)
        assert restored.size == size, f"{result}: size {restored.size} != {size}"
    for result in list(expected)[:2]:
        assert (read_photo(result).color != source.color).any(), f"{result}: nothing was restored"
    assert (work / "batch-out" / "codeformer-report.json").is_file()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", type=Path)
    parser.add_argument("--verify", action="store_true")
    args = parser.parse_args()
    verify(args.work) if args.verify else prepare(args.work)


if __name__ == "__main__":
    main()
