"""Running many photos: planning input -> output pairs, skipping finished ones, reporting each file.

Nothing here imports PyTorch: a batch is planned, checked and resumed before any network is loaded.
"""

from .journal import Journal, read_finished
from .plan import Job, PlanError, check_output_folder, plan_batch, plan_files
from .report import REPORT_NAME, ItemResult, Status, summary_line, write_report
from .run import iter_jobs
from .session import iter_and_report

__all__ = [
    "REPORT_NAME",
    "ItemResult",
    "Job",
    "Journal",
    "PlanError",
    "Status",
    "check_output_folder",
    "iter_and_report",
    "iter_jobs",
    "plan_batch",
    "plan_files",
    "read_finished",
    "summary_line",
    "write_report",
]
