"""Reports as Markdown, CSV and a PNG of grouped bars (matplotlib, Agg backend)."""
from __future__ import annotations

import csv
import io
from math import nan
from typing import List, Optional

from fvgpt.results.collect import Report, Stat, Variant

__all__ = ["markdown", "csv_text", "plot", "AVERAGE", "CONVENTIONS"]

AVERAGE = "average"
INCOMPLETE = "*"
CONVENTIONS = (
    "Mean ± population std over seeds (± omitted with one seed). HM = 2·base·new/(base+new) of the mean "
    "base and new accuracies (for the average: of the average base and new); its ± is over the per-seed HMs. "
    "The average is the mean of the per-dataset means; its ± is over the per-seed averages."
)


def fmt(stat: Stat) -> str:
    if stat.mean is None:
        return "—"
    text = f"{stat.mean:.2f}"
    if stat.std is not None:
        text += f" ± {stat.std:.2f}"
    return text + ("" if stat.complete else INCOMPLETE)


def _seeds(report: Report, column: str, variant: Variant) -> str:
    got = max((s.n for s in report.cells.get((column, variant), {}).values()), default=0)
    return f"{got}/{len(report.seeds.get(variant, []))}"


def _rows(report: Report):
    """(column or AVERAGE, variant, {metric: Stat}) in display order, the averages last."""
    for column in report.columns:
        for v in report.variants:
            yield column, v, {m: report.stat(column, v, m) for m in report.metrics}
    for v in report.variants:
        yield AVERAGE, v, report.averages.get(v, {})


def markdown(report: Report) -> str:
    from tabulate import tabulate

    out = [f"## {report.title}", ""]
    if not report.variants:
        return "\n".join(out + ["No runs found.", ""] + problems_markdown(report)[:1])
    if report.protocol == "base2new":
        table = [
            [column, report.label(v)] + [fmt(stats.get(m, Stat(None, {}, 0, False))) for m in report.metrics]
            + [_seeds(report, column, v) if column != AVERAGE else f"{_n_columns(report, v)}/{len(report.averaged)}"]
            for column, v, stats in _rows(report)
        ]
        out.append(tabulate(table, headers=["dataset", "method", *report.metrics, "seeds / datasets"],
                            tablefmt="github", disable_numparse=True))
    elif report.protocol == "fewshot":
        for column in report.columns + [AVERAGE]:
            out += [f"### {column}", ""]
            table = []
            for v in report.variants:
                stats = report.averages[v] if column == AVERAGE else report.cells.get((column, v), {})
                table.append([report.label(v)] + [fmt(stats[m]) if m in stats else "" for m in report.metrics])
            out += [tabulate(table, headers=["method", *(f"{m} shots" for m in report.metrics)],
                             tablefmt="github", disable_numparse=True), ""]
    else:
        source = report.columns[0]
        table = [
            [report.label(v)] + [fmt(report.stat(c, v, "accuracy")) for c in report.columns]
            + [fmt(report.averages[v]["accuracy"])]
            for v in report.variants
        ]
        headers = ["method", f"{source} (source)", *report.columns[1:], AVERAGE]
        out.append(tabulate(table, headers=headers, tablefmt="github", disable_numparse=True))
    out += ["", CONVENTIONS + f" {INCOMPLETE} = built without some of its runs (listed below).", ""]
    out += problems_markdown(report)
    return "\n".join(out)


def _n_columns(report: Report, variant: Variant) -> int:
    first = next(iter(report.averages.get(variant, {}).values()), None)
    return first.n if first else 0


def problems_markdown(report: Report) -> List[str]:
    lines = [f"No runs found for: {', '.join(report.unmatched)}", ""] if report.unmatched else []
    if not report.problems:
        return lines + ["All expected runs have a result."]
    lines += [f"Missing or unfinished runs ({len(report.problems)}):", ""]
    for p in report.problems:
        lines.append(f"- {report.label(p.variant)}, {p.column}, {p.part}, seed {p.seed}: "
                     f"{p.run.describe()} ({p.run.path})")
    return lines + [""]


def csv_text(report: Report) -> str:
    """One line per (column or average, method, metric): mean, std, n and completeness."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["protocol", "dataset", "method", "trainer", "cfg", "shots", "metric",
                     "mean", "std", "n", "expected_seeds", "complete"])
    for column, v, stats in _rows(report):
        for metric, stat in stats.items():
            writer.writerow([
                report.protocol, column, report.label(v), v.trainer, v.cfg, v.shots, metric,
                _num(stat.mean), _num(stat.std), stat.n, " ".join(map(str, report.seeds.get(v, []))), stat.complete,
            ])
    return buf.getvalue()


def _num(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.4f}"


def plot(report: Report, path: str) -> None:
    """Grouped bars: one panel per metric, one group per dataset (and the average), one bar per method.

    Error bars are the standard deviations of the tables; a hatched bar is built without some of its runs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = report.columns + [AVERAGE]
    metrics = list(report.metrics)
    width = 0.8 / max(1, len(report.variants))
    fig, axes = plt.subplots(len(metrics), 1, squeeze=False,
                             figsize=(max(6.0, 0.35 * len(groups) * max(2, len(report.variants))), 3.2 * len(metrics)))
    for ax, metric in zip(axes[:, 0], metrics):
        for i, v in enumerate(report.variants):
            stats = [report.averages.get(v, {}).get(metric) if g == AVERAGE else report.stat(g, v, metric)
                     for g in groups]
            means = [nan if s is None or s.mean is None else s.mean for s in stats]  # a missing bar is left out
            errs = [0.0 if s is None or s.std is None else s.std for s in stats]
            xs = [g + (i - (len(report.variants) - 1) / 2) * width for g in range(len(groups))]
            bars = ax.bar(xs, means, width, yerr=errs if any(errs) else None, capsize=2, label=report.label(v))
            for bar, stat in zip(bars, stats):
                if stat is not None and stat.mean is not None and not stat.complete:
                    bar.set_hatch("//")  # built without some of its runs
        ax.set_ylabel(f"{metric} (%)" if metric in ("base", "new", "HM", "accuracy") else f"{metric} shots (%)")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(groups, rotation=30, ha="right")
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_title(f"{report.title} (hatched: incomplete)")
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
