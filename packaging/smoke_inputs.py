"""Inputs for packaging/smoke_test.sh, and the check of its outputs (run in the development environment).

    python packaging/smoke_inputs.py WORK            # test weights + a folder with a real photo
    python packaging/smoke_inputs.py WORK --verify   # the restored photos exist, are readable, same size
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

    from codeformer_app.model import CodeFormer

    torch.manual_seed(0)
    torch.save({"params_ema": CodeFormer(**TEST_CONFIG).state_dict()}, work / "test-codeformer.pth")
    (work / "in").mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", work / "in")


def verify(work: Path) -> None:
    from codeformer_app.imaging import read_photo

    source = read_photo(work / "in" / "grace_hopper.jpg")
    for result in (work / "out" / "grace_hopper.jpg", work / "batch-out" / "grace_hopper.jpg"):
        restored = read_photo(result)
        assert restored.size == source.size, f"{result}: size {restored.size} != {source.size}"
        assert (restored.color != source.color).any(), f"{result}: nothing was restored"
    assert (work / "batch-out" / "codeformer-report.json").is_file()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", type=Path)
    parser.add_argument("--verify", action="store_true")
    args = parser.parse_args()
    verify(args.work) if args.verify else prepare(args.work)


if __name__ == "__main__":
    main()
