"""Read the result of one run folder from its log files.

Works on the logs our trainers write with either Dassl runtime and on logs of
the reference repositories (CoOp, CoCoOp, KgCoOp, PromptSRC):

- a *training* log ends its training with ``Finish training`` (upstream Dassl
  and ours) or ``Finished training`` (KgCoOp's Dassl); its result is the last
  ``* accuracy: X%`` after that line (the final test). Accuracies printed
  before it (validation during training) never count, and a training log
  without the line is unfinished;
- an *evaluation* log (``eval_only: True`` in the printed arguments, or
  neither ``eval_only: False`` nor training progress) has as result its last
  ``* accuracy: X%``.

A folder may hold several logs: Dassl keeps an existing ``log.txt`` and writes
the next run to ``log.txt-<timestamp>`` (a resumed training, an evaluation run
again). The newest log with a result wins.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from fvgpt.checkpoints import saved_epochs

__all__ = [
    "FINISH_MARKERS",
    "LogSummary",
    "RunResult",
    "harmonic_mean",
    "log_files",
    "read_log",
    "read_run",
    "last_accuracy",
]

FINISH_MARKERS = ("Finish training", "Finished training")
_ACCURACY = re.compile(r"^\*\s*accuracy:\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*%")
_EPOCH = re.compile(r"^epoch \[\d+/\d+\]")


def harmonic_mean(base: float, new: float) -> float:
    """HM = 2 B N / (B + N), the base-to-new summary (0 when both are 0)."""
    return 0.0 if base + new == 0 else 2 * base * new / (base + new)


@dataclass(frozen=True)
class LogSummary:
    """What one log file says: its kind (``train`` or ``eval``), whether it finished, its result."""

    path: str
    kind: str
    finished: bool
    accuracy: Optional[float]


def read_log(path: str) -> LogSummary:
    trained = eval_only = finished = False
    after_marker: Optional[float] = None  # last accuracy after the last finish marker
    last: Optional[float] = None  # last accuracy anywhere
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.strip()
            if line in FINISH_MARKERS:
                finished, after_marker = True, None
            elif line in ("eval_only: True", "eval_only: False"):
                eval_only = line.endswith("True")
                trained = trained or not eval_only
            elif _EPOCH.match(line):
                trained = True
            else:
                match = _ACCURACY.match(line)
                if match:
                    last = float(match.group(1))
                    if finished:
                        after_marker = last
    if finished:
        return LogSummary(path, "train", True, after_marker)
    if eval_only or not trained:
        return LogSummary(path, "eval", last is not None, last)
    return LogSummary(path, "train", False, None)


def log_files(run_dir: str) -> List[str]:
    """``log.txt`` and its timestamped successors in ``run_dir``, oldest first."""
    logs = glob.glob(os.path.join(glob.escape(run_dir), "log.txt*"))
    return sorted(logs, key=lambda p: (os.path.basename(p) != "log.txt", os.path.basename(p)))


def _last_checkpoint(run_dir: str) -> Optional[int]:
    subdirs = glob.glob(os.path.join(glob.escape(run_dir), "*", ""))
    return max((e for sub in subdirs for e in saved_epochs(Path(sub))), default=None)


@dataclass(frozen=True)
class RunResult:
    """The result of one run folder. ``status``: ok, missing, no-log, unfinished or no-result."""

    path: str
    status: str
    accuracy: Optional[float] = None
    log: Optional[str] = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        return {
            "ok": f"{self.accuracy}% ({self.log})",
            "missing": "no run folder",
            "no-log": "no log.txt",
        }.get(self.status, self.detail)


def read_run(run_dir: str) -> RunResult:
    if not os.path.isdir(run_dir):
        return RunResult(run_dir, "missing")
    logs = [read_log(p) for p in log_files(run_dir)]
    if not logs:
        return RunResult(run_dir, "no-log")
    for log in reversed(logs):
        if log.accuracy is not None:
            return RunResult(run_dir, "ok", log.accuracy, log.path)
    if any(log.kind == "train" and log.finished for log in logs):
        return RunResult(run_dir, "no-result", detail="finished training but no test accuracy after it")
    if any(log.kind == "train" for log in logs):
        epoch = _last_checkpoint(run_dir)
        saved = f"last checkpoint: epoch {epoch}" if epoch else "no checkpoint"
        return RunResult(run_dir, "unfinished", detail=f"training not finished ({saved})")
    return RunResult(run_dir, "no-result", detail="evaluation printed no accuracy")


def last_accuracy(run_dir: str) -> Optional[float]:
    """The result of ``run_dir`` (None when it has none)."""
    return read_run(run_dir).accuracy
