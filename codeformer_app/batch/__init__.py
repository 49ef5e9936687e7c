"""Running many photos: planning input -> output pairs, skipping finished ones, reporting each file."""

from .plan import IMAGE_SUFFIXES, Job, plan_batch, plan_files
from .report import ItemResult, Status, write_report
from .run import run_jobs

__all__ = ["IMAGE_SUFFIXES", "ItemResult", "Job", "Status", "plan_batch", "plan_files", "run_jobs", "write_report"]
