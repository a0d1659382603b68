"""Few-shot and listing caches: across Dassl runtimes, after a moved data root, and when broken."""
from __future__ import annotations

import contextlib
import os
import pickle
import pickletools
import random
import shutil
import sys
import types
import warnings
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import datasets  # noqa: E402,F401
from dassl.data.datasets import Datum  # noqa: E402
from datasets_minilayouts import BUILDERS, triples  # noqa: E402
from datasets_minilayouts import load_dataset as load  # noqa: E402

from fvgpt.data import coop_layout  # noqa: E402
from fvgpt.data.coop_layout import DatasetCacheWarning, load_cache  # noqa: E402

CACHE = Path("split_fewshot") / "shot_2-seed_1.pkl"


@pytest.fixture
def datasets_pets(tmp_path):
    return BUILDERS["OxfordPets"](tmp_path / "DATA")


def moved(lay, new_root):
    """Move the whole data root; return the layout as seen at the new place."""
    shutil.move(str(lay.root), str(new_root))
    lay.root, lay.dataset_dir = Path(new_root), Path(new_root) / lay.dataset_dir.name
    lay.image_dir = lay.dataset_dir / "images"
    return lay


def reference_cache(path, entries):
    """A cache as the reference repositories write it: Datum objects with absolute paths, pickled."""
    with open(path, "wb") as f:
        pickle.dump({k: [Datum(impath=p, label=y, classname=c) for p, y, c in v] for k, v in entries.items()},
                    f, protocol=pickle.HIGHEST_PROTOCOL)


@contextlib.contextmanager
def no_warnings():
    """Fail on any DatasetCacheWarning: the cache must be used as it is."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatasetCacheWarning)
        yield


# ---------------------------------------------------------------------------
def test_our_cache_holds_what_the_reference_reads(datasets_pets):
    """The file is a plain pickle whose 'train'/'val' are Dassl Datum objects with absolute paths."""
    lay = datasets_pets
    ds = load(lay, shots=2)
    raw = (lay.dataset_dir / CACHE).read_bytes()
    data = pickle.loads(raw)
    for key, split in (("train", ds.train_x), ("val", ds.val)):
        assert [(d.impath, d.label, d.classname) for d in data[key]] == \
            [(d.impath, d.label, d.classname) for d in split]
        assert all(type(d) is Datum and sorted(vars(d)) == ["_classname", "_domain", "_impath", "_label"]
                   for d in data[key])
    # referenced by the module path upstream Dassl pickles it under, whichever runtime wrote it
    assert Datum.__module__ == "dassl.data.datasets.base_dataset"
    globals_ = [arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"]  # protocols < 4
    strings = [arg for op, arg, _ in pickletools.genops(raw) if isinstance(arg, str)]
    assert not globals_ or "dassl.data.datasets.base_dataset Datum" in globals_
    assert "dassl.data.datasets.base_dataset" in strings and "Datum" in strings
    # and the root-independent view
    assert data["fvgpt"]["splits"]["train"][0] == (os.path.relpath(ds.train_x[0].impath, lay.image_dir),
                                                   ds.train_x[0].label, ds.train_x[0].classname)


def test_reading_needs_no_datum_class(datasets_pets, monkeypatch):
    """A cache pickled under another runtime (any dassl...Datum) reads without importing that class."""
    lay = datasets_pets
    ds = load(lay, shots=2)
    fake = types.ModuleType("dassl.other_runtime.base_dataset")

    class OtherDatum:  # a different runtime's Datum, with the reference's attributes
        def __init__(self, d):
            self._impath, self._label, self._domain, self._classname = d.impath, d.label, 0, d.classname

    OtherDatum.__module__, OtherDatum.__qualname__ = fake.__name__, "Datum"
    fake.Datum = OtherDatum
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    path = lay.dataset_dir / CACHE
    with open(path, "wb") as f:
        pickle.dump({"train": [OtherDatum(d) for d in reversed(ds.train_x)],
                     "val": [OtherDatum(d) for d in reversed(ds.val)]}, f)
    monkeypatch.delitem(sys.modules, fake.__name__)  # gone, as in the other process
    data = load_cache(str(path), ("train", "val"), str(lay.image_dir), "/oxford_pets/images/")
    assert [it.path for it in data["train"]] == [os.path.relpath(d.impath, lay.image_dir) for d in reversed(ds.train_x)]


def test_our_cache_survives_a_moved_root(datasets_pets, tmp_path):
    lay = datasets_pets
    first = triples(load(lay, shots=2).train_x, lay.root)
    stamp = (lay.dataset_dir / CACHE).stat().st_mtime_ns
    lay = moved(lay, tmp_path / "elsewhere" / "DATA2")
    with no_warnings():
        ds = load(lay, shots=2, seed=1)
    assert triples(ds.train_x, lay.root) == first
    assert all(d.impath.startswith(str(lay.root)) for d in ds.train_x)
    assert (lay.dataset_dir / CACHE).stat().st_mtime_ns == stamp  # read, not rebuilt


def test_a_reference_cache_is_read_even_after_a_moved_root(datasets_pets, tmp_path):
    lay = datasets_pets
    full = load(lay)
    # a draw we would not make ourselves: the last two train images and the last val image of each class
    pick = {}
    for key, split, k in (("train", full.train_x, 2), ("val", full.val, 1)):
        by = {}
        for d in split:
            by.setdefault(d.label, []).append((d.impath, d.label, d.classname))
        pick[key] = [e for group in by.values() for e in group[-k:]]
    (lay.dataset_dir / "split_fewshot").mkdir()
    reference_cache(lay.dataset_dir / CACHE, pick)
    expected = {k: [(os.path.relpath(p, lay.root), y, c) for p, y, c in v] for k, v in pick.items()}
    lay = moved(lay, tmp_path / "DATA_moved")
    with no_warnings():
        ds = load(lay, shots=2, seed=1)
    assert triples(ds.train_x, lay.root) == expected["train"]
    assert triples(ds.val, lay.root) == expected["val"]


def test_a_reference_cache_pointing_at_other_files_is_rebuilt(datasets_pets, tmp_path):
    lay = datasets_pets
    load(lay)  # the split file exists from here on, so every later draw starts from the seed
    fresh = triples(load(lay, shots=2).train_x, lay.root)
    stranger = tmp_path / "unrelated" / "x.jpg"
    stranger.parent.mkdir()
    stranger.write_bytes(b"x")
    reference_cache(lay.dataset_dir / CACHE, {"train": [(str(stranger), 0, "abyssinian")], "val": []})
    with pytest.warns(DatasetCacheWarning, match="not inside a 'oxford_pets/images' folder"):
        ds = load(lay, shots=2, seed=1)
    assert triples(ds.train_x, lay.root) == fresh  # the same draw as a fresh run with this seed


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "not a dict", "foreign object"])
def test_a_corrupt_cache_is_rebuilt_with_a_warning(datasets_pets, tmp_path, damage):
    lay = datasets_pets
    load(lay)  # the split file exists from here on, so every later draw starts from the seed
    fresh = triples(load(lay, shots=2).train_x, lay.root)
    path = lay.dataset_dir / CACHE
    marker = tmp_path / "pwned"
    content = {
        "garbage": b"\x00not a pickle at all",
        "truncated": path.read_bytes()[:100],
        "empty": b"",
        "not a dict": pickle.dumps([1, 2, 3]),
        # a pickle that would run a command when loaded with plain pickle.load
        "foreign object": b"cposix\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.",
    }[damage]
    path.write_bytes(content)
    with pytest.warns(DatasetCacheWarning, match="unusable"):
        ds = load(lay, shots=2, seed=1)
    assert triples(ds.train_x, lay.root) == fresh
    assert not marker.exists()
    with no_warnings():  # rewritten, readable again
        assert triples(load(lay, shots=2, seed=1).train_x, lay.root) == fresh


def test_a_cache_for_another_split_or_shot_count_is_rebuilt(datasets_pets):
    lay = datasets_pets
    load(lay)
    ds = load(lay, shots=2)
    path = lay.dataset_dir / CACHE
    data = pickle.loads(path.read_bytes())
    # three images of the first class where two are expected
    entries = data["fvgpt"]["splits"]["train"]
    extra = next(e for e in ((os.path.relpath(d.impath, lay.image_dir), d.label, d.classname)
                             for d in load(lay).train_x if d.label == 0) if e not in entries)
    entries.append(extra)
    path.write_bytes(pickle.dumps(data))
    with pytest.warns(DatasetCacheWarning, match="not 2 per class"):
        again = load(lay, shots=2, seed=1)
    assert triples(again.train_x, lay.root) == triples(ds.train_x, lay.root)
    # an image that is not in the current split
    data = pickle.loads(path.read_bytes())
    data["fvgpt"]["splits"]["val"][0] = ("Abyssinian_999.jpg", 0, "abyssinian")
    path.write_bytes(pickle.dumps(data))
    with pytest.warns(DatasetCacheWarning, match="not in the current val split"):
        load(lay, shots=2, seed=1)


def test_an_unwritable_data_folder_only_warns(datasets_pets, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(coop_layout, "save_cache", refuse)
    monkeypatch.setattr(coop_layout, "write_split", refuse)
    lay = datasets_pets
    with pytest.warns(DatasetCacheWarning, match="read-only"):
        ds = load(lay, shots=2)
    assert Counter(d.label for d in ds.train_x) == {y: 2 for y in range(5)}
    assert not (lay.dataset_dir / lay.split_file).exists() and not (lay.dataset_dir / CACHE).exists()


# ---------------------------------------------------------------------------
# ImageNet: the listing cache and the validation set
# ---------------------------------------------------------------------------
def test_imagenet_validation_comes_from_unused_training_images(tmp_path):
    lay = BUILDERS["ImageNet"](tmp_path / "DATA")
    ds = load(lay, shots=2, seed=4)
    train, val, test = ({d.impath for d in s} for s in (ds.train_x, ds.val, ds.test))
    assert all("/images/train/" in p for p in val) and not (val & train) and not (val & test)
    assert Counter(d.label for d in ds.val) == {y: 2 for y in range(5)}
    assert Counter(d.label for d in load(lay, shots=8, seed=4).val) == {}  # 8 of 8 used for training
    assert Counter(d.label for d in load(lay, shots=5, seed=4).val) == {y: 3 for y in range(5)}
    # the same with the cache, without it, and whatever the state of the global generator
    again = load(lay, shots=2, seed=4)
    (lay.dataset_dir / "split_fewshot" / "shot_2-seed_4.pkl").unlink()
    fresh = load(lay, shots=2, seed=4)
    assert triples(again.val, lay.root) == triples(ds.val, lay.root) == triples(fresh.val, lay.root)
    assert triples(load(lay, shots=2, seed=5).val, lay.root) != triples(ds.val, lay.root)


def test_imagenet_listing_cache_out_of_date(tmp_path):
    lay = BUILDERS["ImageNet"](tmp_path / "DATA")
    load(lay)
    listing = lay.dataset_dir / "preprocessed.pkl"
    assert listing.is_file()
    # a vanished class folder: the listing is rebuilt
    shutil.rmtree(lay.image_dir / "val" / "n01494475")
    with pytest.warns(DatasetCacheWarning, match="class folders no longer exist"):
        ds = load(lay)
    assert len(ds.test) == 8
    with no_warnings():
        assert len(load(lay).test) == 8
    # a vanished image the run uses: a clear error naming the listing (checking every file each run is too slow)
    gone = lay.image_dir / "train" / "n01440764" / "n01440764_1.JPEG"
    gone.unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of the \d+ images this run uses are missing .*preprocessed.pkl"):
        load(lay)
    listing.unlink()
    assert str(gone) not in {d.impath for d in load(lay).train_x}


def test_imagenet_reads_a_reference_listing_after_a_moved_root(tmp_path):
    lay = BUILDERS["ImageNet"](tmp_path / "DATA")
    ds = load(lay)
    listing = lay.dataset_dir / "preprocessed.pkl"
    # the reference's listing: Datum lists only; here in reversed order, to see that it is used
    reference_cache(listing, {"train": [(d.impath, d.label, d.classname) for d in reversed(ds.train_x)],
                              "test": [(d.impath, d.label, d.classname) for d in ds.test]})
    expected = list(reversed(triples(ds.train_x, lay.root)))
    shutil.move(str(lay.root), str(tmp_path / "NEW"))
    lay.root, lay.dataset_dir = tmp_path / "NEW", tmp_path / "NEW" / "imagenet"
    with no_warnings():
        again = load(lay)
    assert triples(again.train_x, lay.root) == expected


def test_few_shot_draws_follow_the_seeded_global_generator(datasets_pets):
    """train.py seeds random before the dataset is built: the draw depends on that seed only."""
    lay = datasets_pets
    load(lay)  # the split file exists from here on
    a = triples(load(lay, shots=2, seed=11).train_x, lay.root)
    (lay.dataset_dir / "split_fewshot" / "shot_2-seed_11.pkl").unlink()
    random.seed(0)  # whatever happened before, load() seeds as train.py does
    assert triples(load(lay, shots=2, seed=11).train_x, lay.root) == a
