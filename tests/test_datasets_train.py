"""All fifteen datasets load through train.py from their miniature layouts.

One Python process runs train.py's main() once per dataset (importing torch and
Dassl fifteen times would take minutes): the command line is parsed by
train.py's own parser, the config goes through its flow (defaults, extend_cfg,
dataset yaml, trainer yaml, flags, KEY VALUE options), the seed is set, the
CoOp trainer builds its DataManager and a zero-shot evaluation (``--eval-only``
without a model directory) reads every test image.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from datasets_minilayouts import BUILDERS, load_dataset  # noqa: E402

MARK = "@@DATASET@@"
DRIVER = f"""
import json, sys
import train
for name, args in json.loads(sys.argv[1]):
    print("{MARK}" + name, flush=True)
    train.main(train.build_parser().parse_args(args))
print("{MARK}END", flush=True)
"""


def subsample_for(name: str) -> str:
    # the base-to-new datasets as in a base run; the test-only variants whole, as in domain generalisation
    return "all" if name.startswith("ImageNet") and name != "ImageNet" else "base"


@pytest.fixture(scope="module")
def datasets_train_runs(tmp_path_factory, tiny_clip_path):
    """Every dataset through train.py once; returns (layouts, {name: its part of the output})."""
    root = tmp_path_factory.mktemp("train_py") / "DATA"
    layouts = {name: build(root) for name, build in BUILDERS.items()}
    jobs = []
    for name, lay in layouts.items():
        jobs.append((name, [
            "--root", str(root), "--seed", "1", "--trainer", "CoOp",
            "--dataset-config-file", f"configs/datasets/{lay.config}",
            "--config-file", "configs/trainers/CoOp/tiny_cpu.yaml",
            "--output-dir", str(root.parent / "output" / name), "--eval-only",
            "MODEL.BACKBONE.NAME", str(tiny_clip_path), "DATASET.NUM_SHOTS", "2",
            "DATASET.SUBSAMPLE_CLASSES", subsample_for(name),
        ]))
    env = dict(os.environ, PYTHONWARNINGS="ignore", CUDA_VISIBLE_DEVICES="", OUTDATED_IGNORE="1")
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(jobs)], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and f"{MARK}END" in out, out[-6000:]
    parts = dict(re.findall(rf"^{MARK}(\w+)\n(.*?)(?=^{MARK})", out, flags=re.M | re.S))
    return layouts, parts


@pytest.mark.parametrize("name", list(BUILDERS))
def test_dataset_loads_through_train_py(datasets_train_runs, name):
    layouts, parts = datasets_train_runs
    lay, out = layouts[name], parts[name]
    ds = load_dataset(lay, shots=2, seed=1, subsample=subsample_for(name))  # reads the caches train.py wrote
    n = len(lay.classnames)
    assert ds.num_classes == (n if subsample_for(name) == "all" else math.ceil(n / 2))

    def row(key):
        found = re.search(rf"^# {key}\s+(\d+)\s*$", out, flags=re.M)
        return int(found.group(1)) if found else None

    assert re.search(rf"^Dataset\s+{name}\s*$", out, flags=re.M)
    assert row("classes") == ds.num_classes
    assert row("train_x") == len(ds.train_x)
    assert row("val") == (len(ds.val) if ds.val else None)
    assert row("test") == len(ds.test)
    total = re.search(r"^\* total: ([\d,]+)$", out, flags=re.M)
    assert total and int(total.group(1).replace(",", "")) == len(ds.test)
    assert re.search(r"^\* accuracy: [\d.]+%$", out, flags=re.M)
