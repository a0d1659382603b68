"""Gather the run folders of a protocol into per-method statistics over seeds.

Layouts (``scripts/lib/bench.sh`` writes them; base-to-new is CoCoOp's)::

    base2new/{train_base,test_new,test_base}/<dataset>/shots_<K>/<trainer>/<cfg>/seed<S>
    xd/train/<source>/shots_<K>/...    xd/test/<target>/shots_<K>/...
    fewshot/<dataset>/shots_<K>/...

A *method* (:class:`Variant`) is a trainer with its config and shots folder;
zero-shot CLIP lives in ``shots_0``. Conventions, those of the reference
repositories' tables:

- per dataset, the mean over seeds and the population standard deviation
  (numpy's default, as CoOp's ``parse_test_res.py``);
- HM = 2 B N / (B + N) of the *mean* base and new accuracies, per dataset and
  for the average (the HM of the average base and new accuracies, not the
  average of the HMs); its ± is the spread of the per-seed HMs;
- the average over datasets is the mean of the per-dataset means; its ± is
  the spread over seeds of the per-seed averages (seeds present everywhere).

Nothing missing is dropped silently: every expected run that has no result is
a :class:`Problem`, and a statistic built without all of its runs has
``complete = False`` (the tables mark it).
"""
from __future__ import annotations

import glob
import os
import re
import statistics
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from fvgpt.results.logs import RunResult, harmonic_mean, read_run

__all__ = [
    "BASE2NEW_DATASETS",
    "XD_TARGETS",
    "DG_TARGETS",
    "TRAINER_ORDER",
    "Variant",
    "Stat",
    "Problem",
    "Report",
    "scan",
    "base2new_report",
    "xd_report",
    "fewshot_report",
]

# The reference tables' dataset order.
BASE2NEW_DATASETS = (
    "imagenet", "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers", "food101",
    "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101",
)
XD_TARGETS = BASE2NEW_DATASETS[1:]
DG_TARGETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
TRAINER_ORDER = ("ZeroshotCLIP", "CoOp", "FVG_CoOp", "KgCoOp", "FVG_KgCoOp", "PromptSRC", "FVG_PromptSRC")

_SEED = re.compile(r"^seed(\d+)$")
_SHOTS = re.compile(r"^shots_(\d+)")


# ----------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Found:
    """One seed folder: ``<root>/<column>/<shots>/<trainer>/<cfg>/seed<seed>``."""

    column: str
    shots: str
    trainer: str
    cfg: str
    seed: int
    path: str

    @property
    def shot_count(self) -> int:
        return int(_SHOTS.match(self.shots).group(1))


def scan(root: str) -> List[Found]:
    """Every seed folder under ``root`` in the layout above (anything else is ignored)."""
    found = []
    for path in glob.glob(os.path.join(glob.escape(root), "*", "shots_*", "*", "*", "seed*")):
        column, shots, trainer, cfg, seed = os.path.relpath(path, root).split(os.sep)
        match = _SEED.match(seed)
        if match and _SHOTS.match(shots) and os.path.isdir(path):
            found.append(Found(column, shots, trainer, cfg, int(match.group(1)), path))
    return found


def run_path(root: str, column: str, shots: str, trainer: str, cfg: str, seed: int) -> str:
    return os.path.join(root, column, shots, trainer, cfg, f"seed{seed}")


# ------------------------------------------------------------------------------------ statistics
@dataclass(frozen=True)
class Variant:
    """One method: a trainer, its config and (except in the few-shot report) its shots folder."""

    trainer: str
    cfg: str
    shots: str = ""

    @property
    def zero_shot(self) -> bool:
        return self.shots == "shots_0"


@dataclass(frozen=True)
class Stat:
    """A mean with the per-seed values its spread is taken over; ``n`` counts seeds (or datasets)."""

    mean: Optional[float]
    per_seed: Dict[int, float]
    n: int
    complete: bool

    @property
    def std(self) -> Optional[float]:
        """Population standard deviation of the per-seed values (None with fewer than two)."""
        values = list(self.per_seed.values())
        return statistics.pstdev(values) if len(values) >= 2 else None

    @classmethod
    def of_runs(cls, runs: Dict[int, RunResult]) -> "Stat":
        values = {seed: run.accuracy for seed, run in runs.items() if run.ok}
        mean = statistics.fmean(values.values()) if values else None
        return cls(mean, values, len(values), len(values) == len(runs) and bool(runs))

    @classmethod
    def average(cls, stats: Sequence["Stat"]) -> "Stat":
        """Mean of the means of ``stats``; complete only when every one of them is there and complete."""
        used = [s for s in stats if s.mean is not None]
        if not used:
            return cls(None, {}, 0, False)
        common = set.intersection(*(set(s.per_seed) for s in used))
        per_seed = {seed: statistics.fmean(s.per_seed[seed] for s in used) for seed in sorted(common)}
        complete = len(used) == len(stats) and all(s.complete for s in stats)
        return cls(statistics.fmean(s.mean for s in used), per_seed, len(used), complete)

    @classmethod
    def harmonic(cls, base: "Stat", new: "Stat") -> "Stat":
        """HM of the means; per seed, the HM of that seed's base and new accuracies."""
        if base.mean is None or new.mean is None:
            return cls(None, {}, 0, False)
        common = sorted(set(base.per_seed) & set(new.per_seed))
        per_seed = {s: harmonic_mean(base.per_seed[s], new.per_seed[s]) for s in common}
        return cls(harmonic_mean(base.mean, new.mean), per_seed, min(base.n, new.n), base.complete and new.complete)


@dataclass(frozen=True)
class Problem:
    """An expected run without a result."""

    variant: Variant
    column: str
    part: str
    seed: int
    run: RunResult


@dataclass
class Report:
    """Methods x columns x metrics of one protocol, with the averages over ``averaged``."""

    protocol: str
    metrics: Tuple[str, ...]
    variants: List[Variant]
    columns: List[str]
    averaged: List[str]
    cells: Dict[Tuple[str, Variant], Dict[str, Stat]]
    averages: Dict[Variant, Dict[str, Stat]] = field(default_factory=dict)
    problems: List[Problem] = field(default_factory=list)
    seeds: Dict[Variant, List[int]] = field(default_factory=dict)
    title: str = ""
    unmatched: List[str] = field(default_factory=list)  # --trainers entries without any run

    def stat(self, column: str, variant: Variant, metric: str) -> Stat:
        return self.cells.get((column, variant), {}).get(metric, Stat(None, {}, 0, False))

    def label(self, variant: Variant) -> str:
        """The trainer name, with its config (and shots) when it alone would be ambiguous."""
        same = [v for v in self.variants if v.trainer == variant.trainer]
        if len(same) == 1:
            return variant.trainer
        if len({v.cfg for v in same}) == len(same):
            return f"{variant.trainer} ({variant.cfg})"
        if len({v.shots for v in same}) == len(same):
            return f"{variant.trainer} ({variant.shots})"
        return f"{variant.trainer} ({variant.cfg}, {variant.shots})"


# ---------------------------------------------------------------------------------------- helpers
def _order(names: Iterable[str], preferred: Sequence[str]) -> List[str]:
    rank = {name: i for i, name in enumerate(preferred)}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def _select_variants(found: Iterable[Found], trainers: Optional[Sequence[str]], shots: Optional[int],
                     key: Callable[[Found], Variant]) -> Tuple[List[Variant], List[str]]:
    """Variants found, filtered by ``trainers`` (``NAME`` or ``NAME:CFG``, in that order) and ``shots``;
    and the entries of ``trainers`` that matched nothing."""
    variants = {key(f) for f in found if shots is None or f.shot_count in (0, shots)}
    order = {t: i for i, t in enumerate(TRAINER_ORDER)}
    if not trainers:
        return sorted(variants, key=lambda v: (order.get(v.trainer, len(order)), v.trainer, v.cfg, v.shots)), []
    chosen, unmatched = [], []
    for spec in trainers:
        name, _, cfg = spec.partition(":")
        matches = sorted(v for v in variants if v.trainer == name and (not cfg or v.cfg == cfg) and v not in chosen)
        chosen += matches
        unmatched += [] if matches else [spec]
    return chosen, unmatched


def _expected_seeds(found: Iterable[Found], variant_of: Callable[[Found], Variant], variants: Sequence[Variant],
                    seeds: Optional[Sequence[int]]) -> Dict[Variant, List[int]]:
    """``seeds`` for trained methods; the seeds that exist for zero-shot ones (deterministic) and by default."""
    seen: Dict[Variant, set] = {v: set() for v in variants}
    for f in found:
        v = variant_of(f)
        if v in seen:
            seen[v].add(f.seed)
    return {v: sorted(s) if (seeds is None or _is_zero_shot(v, found, variant_of)) else sorted(seeds)
            for v, s in seen.items()}


def _is_zero_shot(variant: Variant, found: Iterable[Found], variant_of: Callable[[Found], Variant]) -> bool:
    counts = {f.shot_count for f in found if variant_of(f) == variant}
    return counts == {0}


def _folders(roots: Sequence[str], column: str, v: Variant) -> Callable[[int], List[str]]:
    """Per seed, the run folders of method ``v`` on ``column`` under each of ``roots``, preferred first."""
    return lambda seed: [run_path(root, column, v.shots, v.trainer, v.cfg, seed) for root in roots]


def _with_shots(f: Found) -> Variant:
    return Variant(f.trainer, f.cfg, f.shots)


def _without_shots(f: Found) -> Variant:
    return Variant(f.trainer, f.cfg)


def _runs(paths: Callable[[int], Sequence[str]], seeds: Sequence[int]) -> Dict[int, RunResult]:
    """Per seed, the first candidate folder with a result, else the most telling failure."""
    out = {}
    for seed in seeds:
        results = [read_run(p) for p in paths(seed)]
        out[seed] = next((r for r in results if r.ok), None) or next(
            (r for r in results if r.status != "missing"), results[0])
    return out


def _fill(report: Report, column: str, variant: Variant, metric: str, runs: Dict[int, RunResult]) -> None:
    report.cells.setdefault((column, variant), {})[metric] = Stat.of_runs(runs)
    report.problems += [Problem(variant, column, metric, s, r) for s, r in runs.items() if not r.ok]


def _columns(found: Iterable[Found], datasets: Optional[Sequence[str]], preferred: Sequence[str]) -> List[str]:
    return list(datasets) if datasets else _order((f.column for f in found), preferred)


# -------------------------------------------------------------------------------------- protocols
def base2new_report(root: str, trainers: Optional[Sequence[str]] = None, datasets: Optional[Sequence[str]] = None,
                    seeds: Optional[Sequence[int]] = None, shots: Optional[int] = None) -> Report:
    """Base (final test of ``train_base``, else ``test_base``), new (``test_new``) and HM per dataset."""
    parts = {p: os.path.join(root, p) for p in ("train_base", "test_base", "test_new")}
    found = [f for p in parts.values() for f in scan(p)]
    variants, unmatched = _select_variants(found, trainers, shots, _with_shots)
    columns = _columns(found, datasets, BASE2NEW_DATASETS)
    report = Report("base2new", ("base", "new", "HM"), variants, columns, columns, {}, unmatched=unmatched,
                    seeds=_expected_seeds(found, _with_shots, variants, seeds), title="Base-to-new generalisation")
    for v in variants:
        base_roots = [parts["train_base"], parts["test_base"]]
        if v.zero_shot:  # nothing trained: its base accuracy is an evaluation
            base_roots.reverse()
        for ds in columns:
            _fill(report, ds, v, "base", _runs(_folders(base_roots, ds, v), report.seeds[v]))
            _fill(report, ds, v, "new", _runs(_folders([parts["test_new"]], ds, v), report.seeds[v]))
            cell = report.cells[(ds, v)]
            cell["HM"] = Stat.harmonic(cell["base"], cell["new"])
        base = Stat.average([report.stat(ds, v, "base") for ds in columns])
        new = Stat.average([report.stat(ds, v, "new") for ds in columns])
        report.averages[v] = {"base": base, "new": new, "HM": Stat.harmonic(base, new)}
    return report


def xd_report(root: str, source: str = "imagenet", kind: str = "xd", trainers: Optional[Sequence[str]] = None,
              datasets: Optional[Sequence[str]] = None, seeds: Optional[Sequence[int]] = None,
              shots: Optional[int] = None) -> Report:
    """Accuracy on the source (final test of ``train/<source>``, else ``test/<source>``) and each target.

    ``kind`` "xd" defaults the targets to those found outside the ImageNet variants, "dg" to the
    variants found; when that leaves nothing (e.g. a stand-in dataset), every target found.
    """
    train, test = os.path.join(root, "train"), os.path.join(root, "test")
    found = [f for f in scan(train) if f.column == source] + scan(test)
    variants, unmatched = _select_variants(found, trainers, shots, _with_shots)
    if datasets:
        targets = [d for d in datasets if d != source]
    else:
        seen = {f.column for f in found} - {source}
        wanted = set(DG_TARGETS) if kind == "dg" else seen - set(DG_TARGETS)
        targets = _order((seen & wanted) or seen, XD_TARGETS + DG_TARGETS)
    title = "Domain generalisation" if kind == "dg" else "Cross-dataset transfer"
    report = Report(kind, ("accuracy",), variants, [source] + targets, targets, {}, unmatched=unmatched,
                    seeds=_expected_seeds(found, _with_shots, variants, seeds), title=f"{title} from {source}")
    for v in variants:
        source_roots = [test, train] if v.zero_shot else [train, test]
        _fill(report, source, v, "accuracy", _runs(_folders(source_roots, source, v), report.seeds[v]))
        for t in targets:
            _fill(report, t, v, "accuracy", _runs(_folders([test], t, v), report.seeds[v]))
        report.averages[v] = {"accuracy": Stat.average([report.stat(t, v, "accuracy") for t in targets])}
    return report


def fewshot_report(root: str, trainers: Optional[Sequence[str]] = None, datasets: Optional[Sequence[str]] = None,
                   seeds: Optional[Sequence[int]] = None, shot_counts: Optional[Sequence[int]] = None) -> Report:
    """Accuracy per dataset and shot count (the metrics are the shot counts; zero-shot CLIP is 0)."""
    found = scan(root)
    variants, unmatched = _select_variants(found, trainers, None, _without_shots)
    columns = _columns(found, datasets, BASE2NEW_DATASETS)
    trained = sorted(set(shot_counts) if shot_counts else {f.shot_count for f in found if f.shot_count})
    counts = sorted({f.shot_count for f in found if f.shot_count == 0} | set(trained))
    report = Report("fewshot", tuple(str(k) for k in counts), variants, columns, columns, {}, unmatched=unmatched,
                    seeds=_expected_seeds(found, _without_shots, variants, seeds), title="Few-shot learning")
    for v in variants:
        mine = [0] if _is_zero_shot(v, found, _without_shots) else trained
        for ds in columns:
            for k in mine:
                folders = _folders([root], ds, Variant(v.trainer, v.cfg, f"shots_{k}"))
                _fill(report, ds, v, str(k), _runs(folders, report.seeds[v]))
        report.averages[v] = {str(k): Stat.average([report.stat(ds, v, str(k)) for ds in columns]) for k in mine}
    return report
