#!/usr/bin/env python
"""Report, per dataset under a data root, which images have a foreground mask.

For every dataset found under --root (or the ones named with --dataset) it
builds the dataset exactly as training does and, for each image of the chosen
splits, looks up its mask with the project's rule
(``<mask root or ROOT/mask>/<image path relative to ROOT>``, same stem with
.png/.jpg/.jpeg accepted). It prints how many images have a mask, the first
few without one, and whether mask and image sizes agree.

Examples:
    python scripts/check_masks.py --root $DATA
    python scripts/check_masks.py --root $DATA/caltech-101 --dataset Caltech101
    python scripts/check_masks.py --root $DATA --dataset ImageNet --num-shots 16 --seed 1

Exit status: 0 when every image has a readable mask of the image's size, 1 when
some do not, 2 when a dataset could not be loaded or none was found.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
from dataclasses import dataclass, field
from typing import List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # datasets/ is used from the repository root, as in every CoOp-family repo
    sys.path.insert(0, REPO)

import datasets  # noqa: E402  (registers the datasets; imports fvgpt first)
from dassl.config import get_cfg_default  # noqa: E402
from dassl.data.datasets import DATASET_REGISTRY  # noqa: E402
from PIL import Image  # noqa: E402

from fvgpt.config import extend_cfg  # noqa: E402
from fvgpt.data.coop_layout import CoOpDataset, DatasetLayoutError  # noqa: E402
from fvgpt.data.masks import mask_path_for  # noqa: E402

# every CoOp-layout dataset registered by datasets/ (the fifteen standard ones and Synthetic)
ALL_DATASETS = [n for n in DATASET_REGISTRY.registered_names() if issubclass(DATASET_REGISTRY.get(n), CoOpDataset)]
SPLITS = ("train", "val", "test")


@dataclass
class Report:
    name: str
    folder: str
    images: int = 0
    with_mask: int = 0
    missing: List[str] = field(default_factory=list)  # "image -> expected mask"
    mismatched: List[str] = field(default_factory=list)  # "image (WxH) vs mask (WxH)"
    unreadable: List[str] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None and not (self.missing or self.mismatched or self.unreadable)


def dataset_images(name: str, root: str, splits, num_shots: int, seed: int) -> List[str]:
    """The image paths of ``splits`` as a training run with these settings would see them (no duplicates)."""
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.DATASET.ROOT = root
    cfg.DATASET.NAME = name
    cfg.DATASET.NUM_SHOTS = num_shots
    cfg.SEED = seed
    if seed >= 0:
        random.seed(seed)  # as train.py does before building the dataset
    with contextlib.redirect_stdout(io.StringIO()):
        ds = DATASET_REGISTRY.get(name)(cfg)
    seen, out = set(), []
    for split in splits:
        for item in (ds.train_x if split == "train" else getattr(ds, split)) or []:
            if item.impath not in seen:
                seen.add(item.impath)
                out.append(item.impath)
    return out


def check_dataset(name, root, mask_root="", splits=SPLITS, num_shots=-1, seed=-1, sizes=True) -> Report:
    root = os.path.abspath(os.path.expanduser(root))
    report = Report(name, os.path.join(root, DATASET_REGISTRY.get(name).dataset_dir))
    try:
        images = dataset_images(name, root, splits, num_shots, seed)
    except (DatasetLayoutError, FileNotFoundError, ValueError) as err:
        report.error = str(err)
        return report
    report.images = len(images)
    for impath in images:
        mask = mask_path_for(impath, root, mask_root)
        if mask is None:
            rel = os.path.relpath(impath, root)
            expected = os.path.join(mask_root or os.path.join(root, "mask"), rel)
            report.missing.append(f"{impath} -> {expected}")
            continue
        report.with_mask += 1
        if not sizes:
            continue
        try:
            with Image.open(impath) as im, Image.open(mask) as m:
                if im.size != m.size:
                    report.mismatched.append(f"{impath} ({im.size[0]}x{im.size[1]}) vs {mask} ({m.size[0]}x{m.size[1]})")
        except OSError as err:
            report.unreadable.append(f"{mask} ({err})")
    return report


def format_report(r: Report, show: int) -> str:
    lines = [f"{r.name}  ({r.folder})"]
    if r.error:
        lines.append(f"  could not be loaded: {r.error}")
        return "\n".join(lines)
    share = f"{100.0 * r.with_mask / r.images:.1f}%" if r.images else "-"
    lines.append(f"  images: {r.images}  with mask: {r.with_mask} ({share})  missing: {len(r.missing)}  "
                 f"size mismatch: {len(r.mismatched)}  unreadable: {len(r.unreadable)}")
    for title, paths in (("missing masks", r.missing), ("size mismatches", r.mismatched),
                         ("unreadable masks", r.unreadable)):
        if paths:
            lines.append(f"  {title} (first {min(show, len(paths))} of {len(paths)}):")
            lines.extend(f"    {p}" for p in paths[:show])
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="DATASET.ROOT: the folder that holds the dataset folders")
    parser.add_argument("--mask-root", default="", help="TRAINER.FVG.MASK_ROOT ('' = <root>/mask)")
    parser.add_argument("--dataset", nargs="+", default=None, metavar="NAME",
                        help=f"DATASET.NAME(s) to check (default: every one found under --root: {', '.join(ALL_DATASETS)})")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    parser.add_argument("--num-shots", type=int, default=-1, help="check only a K-shot run's train/val images")
    parser.add_argument("--seed", type=int, default=-1, help="the run's seed (with --num-shots)")
    parser.add_argument("--show", type=int, default=5, help="how many offending paths to list")
    parser.add_argument("--no-sizes", action="store_true", help="skip the size comparison (faster)")
    args = parser.parse_args(argv)

    root = os.path.abspath(os.path.expanduser(args.root))
    names = args.dataset
    if names is None:
        names = [n for n in ALL_DATASETS if os.path.isdir(os.path.join(root, DATASET_REGISTRY.get(n).dataset_dir))]
        if not names:
            print(f"No dataset folder found under {root} (looked for: "
                  f"{', '.join(DATASET_REGISTRY.get(n).dataset_dir for n in ALL_DATASETS)}). See docs/DATASETS.md.")
            return 2
    unknown = [n for n in names if n not in ALL_DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(ALL_DATASETS)}")

    status = 0
    for name in names:
        report = check_dataset(name, root, args.mask_root, args.splits, args.num_shots, args.seed,
                               sizes=not args.no_sizes)
        print(format_report(report, args.show))
        if report.error:
            status = 2
        elif not report.ok and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
