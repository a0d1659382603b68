"""Read accuracies back from run folders (log.txt) and print base / new / HM tables.

Works on the logs our trainers write with either Dassl runtime and on logs of
the reference repositories: the last ``* accuracy: X%`` line of a run is its
result (for a training run that is the final test after ``Finish training``).
"""
from __future__ import annotations

import argparse
import glob
import os
import re
from typing import List, Optional, Sequence, Tuple

from tabulate import tabulate

__all__ = ["harmonic_mean", "last_accuracy", "main"]

_ACCURACY = re.compile(r"^\* accuracy: ([\d.]+)%\s*$")


def harmonic_mean(base: float, new: float) -> float:
    """HM = 2 B N / (B + N), the base-to-new summary (0 when both are 0)."""
    return 0.0 if base + new == 0 else 2 * base * new / (base + new)


def last_accuracy(run_dir: str) -> Optional[float]:
    """The last accuracy printed in ``run_dir``'s newest log file (None when there is none)."""
    logs = sorted(glob.glob(os.path.join(run_dir, "log.txt*")), key=os.path.getmtime)
    for log in reversed(logs):
        with open(log, errors="replace") as f:
            found = [float(m.group(1)) for m in map(_ACCURACY.match, f) if m]
        if found:
            return found[-1]
    return None


def _fmt(value: Optional[float]) -> str:
    return "missing" if value is None else f"{value:.2f}"


def base_new_table(rows: Sequence[Tuple[str, str, str]]) -> str:
    """Markdown table of (method, base run dir, new run dir) triples."""
    lines: List[List[str]] = []
    for method, base_dir, new_dir in rows:
        base, new = last_accuracy(base_dir), last_accuracy(new_dir)
        hm = None if base is None or new is None else harmonic_mean(base, new)
        lines.append([method, _fmt(base), _fmt(new), _fmt(hm)])
    return tabulate(lines, headers=["method", "base", "new", "HM"], tablefmt="github", disable_numparse=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Print a base / new / HM table from run folders.")
    parser.add_argument(
        "runs", nargs="+", metavar="METHOD=BASE_DIR,NEW_DIR",
        help="a method name with the run folder of its base-class and new-class evaluation",
    )
    args = parser.parse_args(argv)
    rows = []
    for spec in args.runs:
        method, _, dirs = spec.partition("=")
        base_dir, _, new_dir = dirs.partition(",")
        if not (method and base_dir and new_dir):
            parser.error(f"expected METHOD=BASE_DIR,NEW_DIR, got '{spec}'")
        rows.append((method, base_dir, new_dir))
    print(base_new_table(rows))


if __name__ == "__main__":
    main()
