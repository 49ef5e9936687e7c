"""Issue 15 through the command line: `restore clip.mp4` and `batch` pick videos up, name the result .mp4,
keep the frames and the sound, and report one item per video."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import pytest
from photo_samples import astronaut_bgr
from test_video_probe import make_clip

from codeformer_app.cli.main import main
from codeformer_app.video.probe import probe_video


def test_restore_a_clip_into_a_playable_mp4_with_its_sound(tmp_path: Path, tiny_weights: Path) -> None:
    (tmp_path / "in").mkdir()
    clip = make_clip(tmp_path / "in" / "interview.mov", frames=8)
    out = tmp_path / "out"
    report = tmp_path / "r.json"
    args = ["restore", str(clip), "-o", str(out), "--weights", str(tiny_weights), "--report", str(report)]
    assert main([*args, "--no-identity"]) == 0
    result = out / "interview.mp4"
    source, written = probe_video(clip), probe_video(result)
    assert (written.frame_count, written.width, written.height) == (source.frame_count, source.width, source.height)
    assert written.audio is not None and abs(written.duration - source.duration) < 0.05
    with av.open(str(result)) as container:  # playable: every frame decodes
        assert sum(1 for _ in container.decode(video=0)) == source.frame_count
    item = json.loads(report.read_text(encoding="utf-8"))["items"][0]
    assert item["status"] == "ok" and item["output"] == str(result)
    assert item["video"]["frames"] == source.frame_count
    assert item["video"]["faces_per_frame"]["frames_with_faces"] > 0


def test_batch_takes_photos_and_videos_alike(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "in"
    (source / "films").mkdir(parents=True)
    make_clip(source / "films" / "home.mp4", frames=6, face=False, sound=False)
    assert cv2.imwrite(str(source / "portrait.png"), astronaut_bgr())
    out = tmp_path / "out"
    args = ["batch", str(source), str(out), "--weights", str(tiny_weights), "--no-identity", "--format", "mkv"]
    assert main(args) == 0
    report = json.loads((out / "codeformer-report.json").read_text(encoding="utf-8"))
    by_name = {Path(item["input"]).name: item for item in report["items"]}
    assert by_name["home.mp4"]["status"] == "no_face" and (out / "films" / "home.mkv").is_file()
    assert by_name["portrait.png"]["status"] == "ok" and (out / "portrait.png").is_file(), "photos keep their format"
    assert main(args) == 0, "run again: both finished"
    report = json.loads((out / "codeformer-report.json").read_text(encoding="utf-8"))
    assert [item["status"] for item in report["items"]] == ["skipped", "skipped"]


@pytest.mark.parametrize("content", [b"", b"not a video at all"])
def test_a_broken_video_is_a_failure_naming_the_file(
    tmp_path: Path, tiny_weights: Path, content: bytes, capsys
) -> None:
    bad = tmp_path / "in" / "broken.mp4"
    bad.parent.mkdir()
    bad.write_bytes(content)
    assert main(["restore", str(bad), "-o", str(tmp_path / "out"), "--weights", str(tiny_weights)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
    assert not (tmp_path / "out" / "broken.mp4").exists()
