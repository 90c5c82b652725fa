"""`humpback-report`: the paper's tables and figures from the summary.json of finished jobs."""

from humpback.report.build import Report, build_report
from humpback.report.fit import ScalingFit, fit_log_scaling
from humpback.report.load import Group, Job, load_groups

__all__ = ["Report", "build_report", "ScalingFit", "fit_log_scaling", "Group", "Job", "load_groups"]
