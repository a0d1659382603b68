"""Benchmark results: read run folders, aggregate over seeds, print Markdown / CSV tables and draw plots.

``python -m fvgpt.results --help`` for the command line; see docs/BENCHMARKS.md.
"""
from fvgpt.results.collect import Report, Stat, Variant, base2new_report, fewshot_report, xd_report
from fvgpt.results.logs import RunResult, harmonic_mean, last_accuracy, read_log, read_run

__all__ = [
    "Report",
    "RunResult",
    "Stat",
    "Variant",
    "base2new_report",
    "fewshot_report",
    "harmonic_mean",
    "last_accuracy",
    "read_log",
    "read_run",
    "xd_report",
]
