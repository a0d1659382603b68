"""The 15 standard datasets on miniature copies of their real layouts.

For every dataset: number of classes, class names after the reference's
renaming rules, base/new counts and relabelling, few-shot counts and
determinism per seed, split files, mask lookup, and a DataManager build.
"""
from __future__ import annotations

import json
import math
import os
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # datasets/ is used from the repository root, as in CoOp
    sys.path.insert(0, str(REPO))

import datasets  # noqa: E402,F401  (registers the datasets; imports fvgpt, hence dassl, first)
from dassl.config import get_cfg_default  # noqa: E402
from dassl.data.datasets import DATASET_REGISTRY, DatasetBase, Datum  # noqa: E402
from datasets_minilayouts import BUILDERS, MiniLayout, load_dataset, triples, write_split_json  # noqa: E402

from fvgpt.config import extend_cfg  # noqa: E402
from fvgpt.data.coop_layout import Item, base_new_labels, sample_few_shot, subsample_classes  # noqa: E402

from fvgpt.data.masks import mask_path_for  # noqa: E402

NAMES = list(BUILDERS)
TRAINABLE = [n for n in NAMES if not n.startswith("ImageNet") or n == "ImageNet"]
TEST_ONLY = [n for n in NAMES if n not in TRAINABLE]
WITH_SPLIT_FILE = [n for n in TRAINABLE if DATASET_REGISTRY.get(n).split_file]


load = load_dataset


@pytest.fixture(params=NAMES)
def datasets_layout(request, tmp_path) -> MiniLayout:
    return BUILDERS[request.param](tmp_path / "DATA")


@pytest.fixture(params=TRAINABLE)
def datasets_trainable_layout(request, tmp_path) -> MiniLayout:
    return BUILDERS[request.param](tmp_path / "DATA")


# ---------------------------------------------------------------------------
def test_all_fifteen_registered_with_their_config_files():
    assert set(NAMES) == set(datasets.CONFIG_FILES)
    for name, config in datasets.CONFIG_FILES.items():
        assert DATASET_REGISTRY.get(name).__name__ == name
        cfg = get_cfg_default()
        extend_cfg(cfg)
        cfg.merge_from_file(str(REPO / "configs" / "datasets" / config))
        assert cfg.DATASET.NAME == name


def test_classes_and_names(datasets_layout):
    lay = datasets_layout
    ds = load(lay)
    assert ds.num_classes == len(lay.classnames)
    assert ds.classnames == lay.classnames
    assert ds.lab2cname == dict(enumerate(lay.classnames))
    for split in (ds.train_x, ds.val or [], ds.test):
        for d in split:
            assert isinstance(d, Datum) and os.path.isfile(d.impath)
            assert d.classname == lay.classnames[d.label]


def test_splits_are_disjoint_and_test_is_never_validation(datasets_layout):
    lay = datasets_layout
    ds = load(lay, shots=2)
    test = {d.impath for d in ds.test}
    assert test
    if lay.test_only:
        assert ds.val is None  # no validation set at all
        assert {d.impath for d in ds.train_x} == test  # only so that Dassl can derive the class names
        return
    train, val = {d.impath for d in ds.train_x}, {d.impath for d in ds.val}
    assert val, "a few-shot validation set exists"
    assert not (train & val) and not (train & test) and not (val & test)


def test_full_data_uses_every_image_once(datasets_trainable_layout):
    lay = datasets_trainable_layout
    ds = load(lay)
    used = [d.impath for d in ds.train_x + (ds.val or []) + ds.test]
    assert len(used) == len(set(used))
    expected = {str(p) for p in lay.images}
    if lay.name == "Caltech101":  # BACKGROUND_Google and Faces_easy are not classes
        expected = {p for p in expected if "/BACKGROUND_Google/" not in p and "/Faces_easy/" not in p}
    if lay.name == "ImageNet":  # no validation set without few-shot sampling
        assert ds.val == []
    assert set(used) == expected


@pytest.mark.parametrize("subsample", ["base", "new"])
def test_base_new_classes_and_relabelling(datasets_layout, subsample):
    lay = datasets_layout
    n = len(lay.classnames)
    m = math.ceil(n / 2)
    expected = lay.classnames[:m] if subsample == "base" else lay.classnames[m:]
    ds = load(lay, shots=2, subsample=subsample)
    assert ds.num_classes == len(expected)
    assert ds.classnames == expected
    assert ds.train_x and ds.test
    for split in (ds.train_x, ds.val or [], ds.test):
        assert {d.label for d in split} <= set(range(len(expected)))
        for d in split:
            assert d.classname == expected[d.label]
    assert {d.label for d in ds.test} == set(range(len(expected)))


def test_few_shot_counts_and_determinism_per_seed(datasets_trainable_layout):
    lay = datasets_trainable_layout
    full = load(lay)
    avail_train = Counter(d.label for d in full.train_x)
    avail_val = Counter(d.label for d in (full.val or []))
    if lay.name == "ImageNet":  # validation images come from the training images left out
        avail_val = Counter({label: n - min(2, n) for label, n in avail_train.items()})

    first = load(lay, shots=2, seed=1)
    cache = lay.dataset_dir / "split_fewshot" / "shot_2-seed_1.pkl"
    assert cache.is_file()
    assert Counter(d.label for d in first.train_x) == {k: min(2, n) for k, n in avail_train.items()}
    assert Counter(d.label for d in first.val) == {k: min(2, n) for k, n in avail_val.items() if n}
    assert len(first.test) == len(full.test)  # the test set is never sampled

    # same seed, cache removed: the same draw; cache present: the same draw again
    cache.unlink()
    again = load(lay, shots=2, seed=1)
    assert triples(again.train_x, lay.root) == triples(first.train_x, lay.root)
    assert triples(again.val, lay.root) == triples(first.val, lay.root)
    cached = load(lay, shots=2, seed=1)
    assert triples(cached.train_x, lay.root) == triples(first.train_x, lay.root)
    assert triples(cached.val, lay.root) == triples(first.val, lay.root)

    # other seeds: their own cache files and (for some seed) another draw
    draws = {tuple(triples(load(lay, shots=2, seed=s).train_x, lay.root)) for s in (2, 3, 4)}
    assert (lay.dataset_dir / "split_fewshot" / "shot_2-seed_3.pkl").is_file()
    assert draws - {tuple(triples(first.train_x, lay.root))}

    # more shots than images: every image of the class
    many = load(lay, shots=100, seed=1)
    assert Counter(d.label for d in many.train_x) == avail_train


def test_cached_few_shot_draws_nothing(datasets_trainable_layout):
    """Reading a split file and a few-shot cache makes no call to random, as in the reference."""
    lay = datasets_trainable_layout
    load(lay, shots=2, seed=5)
    random.seed(123)
    state = random.getstate()
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.merge_from_file(str(REPO / "configs" / "datasets" / lay.config))
    cfg.DATASET.ROOT, cfg.DATASET.NUM_SHOTS, cfg.SEED = str(lay.root), 2, 5
    DATASET_REGISTRY.get(lay.name)(cfg)
    assert random.getstate() == state


def test_test_only_variants_ignore_few_shot(tmp_path):
    for name in TEST_ONLY:
        lay = BUILDERS[name](tmp_path / "DATA")
        ds = load(lay, shots=1)
        assert len(ds.test) == len(lay.images) and ds.val is None
        assert not (lay.dataset_dir / "split_fewshot").exists()


@pytest.mark.parametrize("name", WITH_SPLIT_FILE)
def test_split_file_written_in_the_reference_format_and_read_back(tmp_path, name):
    lay = BUILDERS[name](tmp_path / "DATA")
    first = load(lay, seed=7)
    path = lay.dataset_dir / lay.split_file
    data = json.loads(path.read_text())
    assert set(data) == {"train", "val", "test"}
    for key, split in (("train", first.train_x), ("val", first.val), ("test", first.test)):
        assert [tuple(e) for e in data[key]] == [
            (os.path.relpath(d.impath, lay.image_dir), d.label, d.classname) for d in split
        ]
    # with the file present nothing is drawn and the same split comes back, whatever the seed
    random.seed(99)
    state = random.getstate()
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.merge_from_file(str(REPO / "configs" / "datasets" / lay.config))
    cfg.DATASET.ROOT = str(lay.root)
    again = DATASET_REGISTRY.get(name)(cfg)
    assert random.getstate() == state
    assert triples(again.train_x + again.val + again.test, lay.root) == \
        triples(first.train_x + first.val + first.test, lay.root)


@pytest.mark.parametrize("name", WITH_SPLIT_FILE)
def test_a_given_split_file_is_used_verbatim(tmp_path, name):
    lay = BUILDERS[name](tmp_path / "DATA")
    ds = load(lay)
    # The published split is the source of truth: move the first test image of every class
    # to train and rename the classes, as a hand-written file might.
    split = {
        "train": [[os.path.relpath(d.impath, lay.image_dir), d.label, d.classname + " (given)"] for d in ds.train_x],
        "val": [[os.path.relpath(d.impath, lay.image_dir), d.label, d.classname + " (given)"] for d in ds.val],
        "test": [],
    }
    seen = set()
    for d in ds.test:
        entry = [os.path.relpath(d.impath, lay.image_dir), d.label, d.classname + " (given)"]
        (split["test"] if d.label in seen else split["train"]).append(entry)
        seen.add(d.label)
    write_split_json(lay, split)
    given = load(lay)
    assert given.classnames == [c + " (given)" for c in lay.classnames]
    assert len(given.train_x) == len(ds.train_x) + len(lay.classnames)
    assert len(given.test) == len(ds.test) - len(lay.classnames)


def test_mask_lookup(datasets_layout):
    """Masks mirror the image tree under <ROOT>/mask; the same stem with .png is accepted."""
    lay = datasets_layout
    ds = load(lay)
    items = ds.train_x[:3]
    mask_root = lay.root / "mask"
    expected = {}
    for i, d in enumerate(items):
        rel = Path(d.impath).relative_to(lay.root)
        assert rel.parts[0] == lay.dataset_dir.name  # masks are keyed by the path below ROOT
        target = mask_root / (rel if i != 1 else rel.with_suffix(".png"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"mask")
        expected[d.impath] = str(target)
    for d in items:
        assert mask_path_for(d.impath, str(lay.root)) == expected[d.impath]
    assert mask_path_for(ds.test[-1].impath, str(lay.root)) is None
    other = lay.root.parent / "masks_elsewhere"
    moved = other / Path(items[0].impath).relative_to(lay.root)
    moved.parent.mkdir(parents=True)
    moved.write_bytes(b"mask")
    assert mask_path_for(items[0].impath, str(lay.root), str(other)) == str(moved)


def test_data_manager_builds_and_reads_a_batch(datasets_layout):
    from dassl.data import DataManager

    lay = datasets_layout
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.merge_from_file(str(REPO / "configs" / "datasets" / lay.config))
    cfg.DATASET.ROOT = str(lay.root)
    cfg.DATASET.NUM_SHOTS = 2
    cfg.DATASET.SUBSAMPLE_CLASSES = "base"
    cfg.SEED = 1
    cfg.INPUT.SIZE = (16, 16)
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = 4
    cfg.DATALOADER.TEST.BATCH_SIZE = 4
    random.seed(1)
    dm = DataManager(cfg)
    m = math.ceil(len(lay.classnames) / 2)
    assert dm.num_classes == m and dm.dataset.classnames == lay.classnames[:m]
    assert (dm.val_loader is None) == lay.test_only
    batch = next(iter(dm.test_loader))
    assert tuple(batch["img"].shape[1:]) == (3, 16, 16)


# ---------------------------------------------------------------------------
# The sampling and subsampling rules themselves
# ---------------------------------------------------------------------------
PUBLISHED = {  # number of classes -> published (base, new)
    "ImageNet": (1000, 500, 500), "Caltech101": (100, 50, 50), "OxfordPets": (37, 19, 18),
    "StanfordCars": (196, 98, 98), "OxfordFlowers": (102, 51, 51), "Food101": (101, 51, 50),
    "FGVCAircraft": (100, 50, 50), "SUN397": (397, 199, 198), "DescribableTextures": (47, 24, 23),
    "EuroSAT": (10, 5, 5), "UCF101": (101, 51, 50),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_base_new_counts_follow_from_the_rule(name):
    n, n_base, n_new = PUBLISHED[name]
    # one image per class, classes listed in a scrambled order (the rule sorts labels)
    items = [Item(f"c{y}.jpg", y, f"class {y}") for y in random.Random(n).sample(range(n), n)]
    base, = subsample_classes(items, subsample="base")
    new, = subsample_classes(items, subsample="new")
    assert (len(base), len(new)) == (n_base, n_new)
    assert sorted(it.label for it in base) == list(range(n_base))
    assert sorted(it.label for it in new) == list(range(n_new))
    assert {it.classname for it in base} == {f"class {y}" for y in range(n_base)}
    assert {it.classname for it in new} == {f"class {y}" for y in range(n_base, n)}
    assert base_new_labels(range(n)) == (list(range(n_base)), list(range(n_base, n)))


def test_real_renaming_tables_have_the_published_sizes():
    from datasets.caltech101 import CLASS_NAMES as CALTECH, IGNORED
    from datasets.eurosat import CLASS_NAMES as EUROSAT

    assert len(EUROSAT) == 10 and len(set(EUROSAT.values())) == 10
    assert set(IGNORED) == {"BACKGROUND_Google", "Faces_easy"}
    assert CALTECH == {"airplanes": "airplane", "Faces": "face", "Leopards": "leopard", "Motorbikes": "motorbike"}


def test_subsample_rejects_unknown_choice():
    with pytest.raises(ValueError, match="SUBSAMPLE_CLASSES"):
        subsample_classes([Item("a.jpg", 0, "a")], subsample="novel")


def test_sampler_matches_the_runtime_generate_fewshot_dataset(tmp_path):
    """sample_few_shot draws exactly what Dassl's generate_fewshot_dataset draws (upstream or fallback)."""
    img = tmp_path / "x.jpg"
    img.write_bytes(b"x")
    rng = random.Random(0)
    items = [Item(f"{i}.jpg", rng.randrange(7), "c") for i in range(200)]  # labels interleaved
    datums = [Datum(impath=str(img), label=it.label, classname=it.path) for it in items]
    runtime = DatasetBase(train_x=datums, test=datums)
    for k in (1, 3, 16, 40):
        random.seed(k)
        ours = [it.path for it in sample_few_shot(items, k)]
        after_ours = random.getstate()
        random.seed(k)
        theirs = [d.classname for d in runtime.generate_fewshot_dataset(datums, num_shots=k)]
        assert ours == theirs
        assert random.getstate() == after_ours  # the same number of draws, too


def test_every_dataset_has_its_zero_shot_template():
    from fvgpt.templates import CUSTOM_TEMPLATES

    assert set(NAMES) <= set(CUSTOM_TEMPLATES)
    assert all(t.count("{}") == 1 for t in CUSTOM_TEMPLATES.values())
    assert CUSTOM_TEMPLATES["EuroSAT"].format("Sea or Lake") == "a centered satellite photo of Sea or Lake."
