"""Running many photos: planning input -> output pairs, skipping finished ones, reporting each file."""

from .plan import IMAGE_SUFFIXES, Job, plan_batch, plan_files
from .report import REPORT_NAME, ItemResult, Status, write_report
from .run import iter_jobs, run_jobs
from .session import iter_and_report, run_and_report

__all__ = [
    "IMAGE_SUFFIXES",
    "REPORT_NAME",
    "ItemResult",
    "Job",
    "Status",
    "iter_and_report",
    "iter_jobs",
    "plan_batch",
    "plan_files",
    "run_and_report",
    "run_jobs",
    "write_report",
]
