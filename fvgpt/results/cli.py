"""Command line of the results parser: ``python -m fvgpt.results PROTOCOL [ROOT] [options]``.

    python -m fvgpt.results base2new output/base2new --png b2n.png --csv b2n.csv
    python -m fvgpt.results xd output/xd              # cross-dataset transfer from ImageNet
    python -m fvgpt.results dg output/xd              # domain generalisation (same runs)
    python -m fvgpt.results fewshot output/fewshot
    python -m fvgpt.results seeds output/.../CoOp/vit_b16_c4_ep10_batch4   # one experiment's seed folders

The Markdown table goes to stdout (and to --md FILE); --csv FILE ('-': stdout) and
--png FILE write the other forms. The exit status is 1 with --strict when an
expected run has no result, and 2 when nothing was found.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from typing import Optional, Sequence

from fvgpt.results.collect import base2new_report, fewshot_report, xd_report
from fvgpt.results.logs import read_run
from fvgpt.results.render import csv_text, markdown, plot

DEFAULT_ROOTS = {"base2new": "output/base2new", "xd": "output/xd", "dg": "output/xd", "fewshot": "output/fewshot"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fvgpt.results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="protocol", required=True)
    for name, help_text in (("base2new", "base / new / HM per dataset and on average"),
                            ("xd", "cross-dataset transfer: source and target accuracies"),
                            ("dg", "domain generalisation: source and ImageNet-variant accuracies"),
                            ("fewshot", "accuracy per dataset and shot count")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("root", nargs="?", default=DEFAULT_ROOTS[name],
                       help=f"protocol folder (default: {DEFAULT_ROOTS[name]})")
        p.add_argument("--trainers", nargs="+", metavar="NAME[:CFG]",
                       help="methods to show, in this order (default: all found)")
        p.add_argument("--datasets", nargs="+", help="datasets (targets) expected (default: all found)")
        p.add_argument("--seeds", nargs="+", type=int,
                       help="seeds expected of every trained method (default: those found per method)")
        if name == "fewshot":
            p.add_argument("--shots", nargs="+", type=int, help="shot counts expected (default: all found)")
        else:
            p.add_argument("--shots", type=int, help="only this shots_<K> folder, plus zero-shot shots_0")
        if name in ("xd", "dg"):
            p.add_argument("--source", default="imagenet", help="training set (default: imagenet)")
        p.add_argument("--md", help="also write the Markdown here")
        p.add_argument("--csv", help="write the CSV here ('-': stdout)")
        p.add_argument("--png", help="write the grouped-bar plot here")
        p.add_argument("--strict", action="store_true",
                       help="exit 1 when an expected run has no result or a --trainers entry has no runs")
    p = sub.add_parser("seeds", help="mean ± std over the seed folders of one experiment (CoOp's parse_test_res)")
    p.add_argument("dirs", nargs="+", help="folders holding seed*/ run folders (or run folders themselves)")
    return parser


def _seeds_summary(dirs: Sequence[str]) -> int:
    status = 0
    for d in dirs:
        subs = sorted(e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))) if os.path.isdir(d) else []
        runs = [os.path.join(d, s) for s in subs if s.startswith("seed")] or [d]
        values = []
        print(f"{d}:")
        for run in runs:
            result = read_run(run)
            print(f"  {os.path.basename(run)}: {f'{result.accuracy:.2f}%' if result.ok else result.describe()}")
            values += [result.accuracy] if result.ok else []
            status |= 0 if result.ok else 1
        if values:
            std = statistics.pstdev(values) if len(values) > 1 else 0.0
            print(f"  * accuracy: {statistics.fmean(values):.2f}% +- {std:.2f}% ({len(values)} of {len(runs)} runs)")
    return status


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = _parser().parse_args(argv)
    if args.protocol == "seeds":
        sys.exit(_seeds_summary(args.dirs))
    common = dict(trainers=args.trainers, datasets=args.datasets, seeds=args.seeds)
    if args.protocol == "base2new":
        report = base2new_report(args.root, shots=args.shots, **common)
    elif args.protocol == "fewshot":
        report = fewshot_report(args.root, shot_counts=args.shots, **common)
    else:
        report = xd_report(args.root, source=args.source, kind=args.protocol, shots=args.shots, **common)
    text = markdown(report)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")
    if args.csv == "-":
        print(csv_text(report), end="")
    elif args.csv:
        with open(args.csv, "w", newline="") as f:
            f.write(csv_text(report))
    if args.png and report.variants:
        plot(report, args.png)
        print(f"plot written to {args.png}")
    if not report.variants:
        sys.exit(2)
    if args.strict and (report.problems or report.unmatched):
        sys.exit(1)
