"""What each planned file goes through: a photo through ``restore_file``, a video through
``restore_video_file``; both report progress (faces of a photo, frames of a video) to the same bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..video import is_video_name

if TYPE_CHECKING:
    from ..batch.run import ProcessFn
    from ..pipeline.restore_file import Engine, RestoreSettings
    from .run_jobs_cli import FaceProgress


def photo_or_video(engine: Engine, settings: RestoreSettings, on_progress: FaceProgress) -> ProcessFn:
    from ..pipeline.outcome import RestoreOutcome
    from ..pipeline.restore_file import restore_file

    def process(source: Path, target: Path) -> RestoreOutcome:
        if not is_video_name(source):
            return restore_file(source, target, engine, settings, on_face=on_progress)
        from ..video.restore import restore_video_file

        outcome = restore_video_file(source, target, engine, settings, on_frame=on_progress)
        return RestoreOutcome(faces=[], notes=list(outcome.notes), video=outcome.report())

    return process
