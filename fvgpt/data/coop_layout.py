"""The CoOp dataset layout, written once.

Every dataset of the CoOp family keeps its files under
``<DATASET.ROOT>/<dataset_dir>/``: an image folder, optionally a split file
``split_zhou_<Name>.json`` and few-shot caches under ``split_fewshot/``. This
module holds everything those datasets share; a dataset module under
``datasets/`` only says where its files are and how its names are read (see
:class:`CoOpDataset`).

Results match the reference repositories (CoOp/CoCoOp, KgCoOp, PromptSRC) for
the same files and seed: every function that draws (split creation, few-shot
sampling) uses Python's global :mod:`random`, which ``train.py`` seeds before the
dataset is built, with exactly the reference's sequence of calls. Directory
listings keep the file system's order where the reference does, because that
order feeds those draws.

Internally a split is a list of :class:`Item` (path relative to the image
folder, label, class name); Dassl ``Datum`` objects are made only at the end.

Few-shot caches (``split_fewshot/shot_<K>-seed_<SEED>.pkl``) and ImageNet's
listing cache (``preprocessed.pkl``) keep the reference's file names and hold
two views of the same draw:

* ``"train"``, ``"val"`` (``"test"``): lists of Dassl ``Datum`` with absolute
  paths, exactly what a reference checkout reads from these files, so a data
  folder can be shared with one;
* ``"fvgpt"``: the same items as ``(relative path, label, class name)`` tuples,
  which is what this project reads. It survives a moved data root.

Reading never imports a ``Datum`` class: a restricted unpickler maps any
pickled ``dassl...Datum`` to a plain record and refuses every other class, so a
cache written under upstream Dassl or under the bundled fallback reads the same
under either, and a cache written by a reference repository (``Datum`` lists
only, absolute paths) is re-rooted onto the current image folder. A cache that
cannot be read, does not match the current split or names images elsewhere is
rebuilt with a :class:`DatasetCacheWarning`.
"""
from __future__ import annotations

import contextlib
import gc
import math
import os
import pickle
import random
import tempfile
import warnings
from collections import defaultdict
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import fvgpt  # noqa: F401  (resolves ``import dassl`` to upstream or the fallback)
from dassl.data.datasets import Datum, DatasetBase
from dassl.utils import listdir_nohidden, read_json, write_json

DOCS_PAGE = "docs/DATASETS.md"
FEWSHOT_DIR = "split_fewshot"
SUBSAMPLE_CHOICES = ("all", "base", "new")
VAL_SHOTS_CAP = 4  # few-shot validation set: min(K, 4) images per class
SHOW_FIRST = 5  # how many offending paths an error message lists
CACHE_FORMAT = "fvgpt.coop_layout/1"


class Item(NamedTuple):
    """One image of a split: path relative to the dataset's image folder."""

    path: str
    label: int
    classname: str


Split = List[Item]


class DatasetLayoutError(FileNotFoundError):
    """A dataset folder, image folder or annotation file is not where the layout says."""


class CacheError(Exception):
    """A cache file exists but cannot be used (unreadable, stale, or for other data)."""


class DatasetCacheWarning(UserWarning):
    """A cache file was unusable and has been rebuilt (or could not be written)."""


def docs_link(name: str) -> str:
    """Where the layout of dataset ``name`` is described."""
    return f"{DOCS_PAGE}#{name.lower()}"


def _first(paths: Sequence[str], n: int = SHOW_FIRST) -> str:
    shown = "\n  ".join(paths[:n])
    more = f"\n  ... and {len(paths) - n} more" if len(paths) > n else ""
    return f"\n  {shown}{more}"


# ---------------------------------------------------------------------------
# Split files: {"train"|"val"|"test": [[relative path, label, class name], ...]}
# ---------------------------------------------------------------------------
def read_split(path: str) -> Tuple[Split, Split, Split]:
    """Read a ``split_zhou_*.json`` file (paths relative to the image folder)."""
    data = read_json(path)
    try:
        return tuple(  # type: ignore[return-value]
            [Item(str(p), int(y), str(c)) for p, y, c in data[key]] for key in ("train", "val", "test")
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"{path} is not a split file: expected {{'train'|'val'|'test': [[path, label, classname], ...]}} ({err})"
        ) from err


def write_split(path: str, train: Split, val: Split, test: Split) -> None:
    """Write a split file in the reference's format (indented json, list triples)."""
    data = {key: [[it.path, it.label, it.classname] for it in items]
            for key, items in (("train", train), ("val", val), ("test", test))}
    tmp = f"{path}.tmp{os.getpid()}"
    write_json(data, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# Split creation (only when no split file exists). Same draws as the reference.
# ---------------------------------------------------------------------------
def split_trainval(trainval: Split, p_val: float = 0.2) -> Tuple[Split, Split]:
    """Split an official train+val list per class into train and val.

    Classes are visited in order of first appearance; each class's indices are
    shuffled and the first ``round(n * p_val)`` go to val. Both outputs keep the
    class-by-class order the reference writes to its split file.
    """
    by_label: Dict[int, List[int]] = defaultdict(list)
    for idx, item in enumerate(trainval):
        by_label[item.label].append(idx)
    print(f"Splitting trainval into {1 - p_val:.0%} train and {p_val:.0%} val")
    train: Split = []
    val: Split = []
    for label, idxs in by_label.items():
        n_val = round(len(idxs) * p_val)
        if n_val == 0:
            raise ValueError(
                f"class {trainval[idxs[0]].classname!r} (label {label}) has {len(idxs)} train+val images: "
                f"too few to hold out {p_val:.0%} for validation"
            )
        random.shuffle(idxs)
        for n, idx in enumerate(idxs):
            (val if n < n_val else train).append(trainval[idx])
    return train, val


def split_classwise(
    classes: Iterable[Tuple[int, str, List[str]]], p_trn: float = 0.5, p_val: float = 0.2
) -> Tuple[Split, Split, Split]:
    """Split each class's images into train/val/test by fixed proportions.

    ``classes`` yields ``(label, classname, paths)`` in the order the classes are
    visited; each path list is shuffled in place, then cut into
    ``round(n * p_trn)`` train, ``round(n * p_val)`` val and the rest test.
    """
    print(f"Splitting into {p_trn:.0%} train, {p_val:.0%} val and {1 - p_trn - p_val:.0%} test")
    train: Split = []
    val: Split = []
    test: Split = []
    for label, classname, paths in classes:
        random.shuffle(paths)
        n_total = len(paths)
        n_train = round(n_total * p_trn)
        n_val = round(n_total * p_val)
        if n_train == 0 or n_val == 0 or n_total - n_train - n_val == 0:
            raise ValueError(f"class {classname!r} has {n_total} images: too few for a train/val/test split")
        train.extend(Item(p, label, classname) for p in paths[:n_train])
        val.extend(Item(p, label, classname) for p in paths[n_train:n_train + n_val])
        test.extend(Item(p, label, classname) for p in paths[n_train + n_val:])
    return train, val, test


def class_folders(image_dir: str, ignored: Sequence[str] = ()) -> List[str]:
    """Sorted names of the non-hidden class folders of ``image_dir``."""
    return sorted(
        name for name in listdir_nohidden(image_dir)
        if name not in ignored and os.path.isdir(os.path.join(image_dir, name))
    )


def list_images(folder: str) -> List[str]:
    """Non-hidden file names of ``folder`` in directory-listing order (not sorted, as in the reference)."""
    return [name for name in listdir_nohidden(folder) if os.path.isfile(os.path.join(folder, name))]


def folder_per_class(
    image_dir: str, ignored: Sequence[str] = (), renames: Optional[Dict[str, str]] = None
) -> List[Tuple[int, str, List[str]]]:
    """``(label, classname, relative paths)`` for an image folder with one sub-folder per class.

    Labels follow the sorted folder names; ``renames`` maps a folder name to its
    class name (other folders keep their name).
    """
    renames = renames or {}
    return [
        (label, renames.get(folder, folder), [f"{folder}/{name}" for name in list_images(os.path.join(image_dir, folder))])
        for label, folder in enumerate(class_folders(image_dir, ignored))
    ]


# ---------------------------------------------------------------------------
# Few-shot sampling and the base/new rule
# ---------------------------------------------------------------------------
def sample_few_shot(items: Split, num_shots: int, rng=random) -> Split:
    """``num_shots`` images per class (all of a class that has fewer).

    Classes in order of first appearance, one ``rng.sample`` per class that has
    at least ``num_shots`` images: the draws of Dassl's
    ``generate_fewshot_dataset`` (``rng`` is the global :mod:`random` there).
    """
    if num_shots < 1:
        return list(items)
    by_label: Dict[int, Split] = defaultdict(list)
    for item in items:
        by_label[item.label].append(item)
    out: Split = []
    for group in by_label.values():
        out.extend(rng.sample(group, num_shots) if len(group) >= num_shots else group)
    return out


def base_new_labels(labels: Iterable[int]) -> Tuple[List[int], List[int]]:
    """The base-to-new rule: sorted labels, the first ceil(n / 2) are base, the rest new."""
    ordered = sorted(set(labels))
    m = math.ceil(len(ordered) / 2)
    return ordered[:m], ordered[m:]


def subsample_classes(*splits: Split, subsample: str = "all") -> List[Split]:
    """Keep the base or new classes in every split, relabelled from 0.

    The class halves are computed from the labels of the first split (train).
    """
    if subsample not in SUBSAMPLE_CHOICES:
        raise ValueError(f"DATASET.SUBSAMPLE_CLASSES must be one of {SUBSAMPLE_CHOICES}, got {subsample!r}")
    if subsample == "all":
        return list(splits)
    base, new = base_new_labels(it.label for it in splits[0])
    selected = base if subsample == "base" else new
    relabel = {old: new_label for new_label, old in enumerate(selected)}
    print(f"Subsampling {subsample} classes: {len(selected)} of {len(base) + len(new)}")
    return [[it._replace(label=relabel[it.label]) for it in split if it.label in relabel] for split in splits]


# ---------------------------------------------------------------------------
# Caches
# ---------------------------------------------------------------------------
class _StoredDatum:
    """What a pickled Dassl ``Datum`` unpickles to here: its attributes, nothing else."""


class _CacheUnpickler(pickle.Unpickler):
    """Unpickles builtin containers and Dassl ``Datum`` objects, refuses anything else."""

    _ALLOWED = {("copyreg", "_reconstructor"), ("builtins", "object")}  # older pickle protocols

    def find_class(self, module: str, name: str):
        if name == "Datum" and module.split(".")[0] == "dassl":
            return _StoredDatum
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")


def _as_item(path, label, classname) -> Item:
    if not isinstance(path, str) or not isinstance(classname, str) or isinstance(label, bool) \
            or not isinstance(label, int):
        raise CacheError(f"malformed entry {(path, label, classname)!r}")
    return Item(path, label, classname)


def _relative_to(impath: str, image_dir: str, anchor: str) -> str:
    """The path of an absolute ``impath`` relative to the image folder, allowing for a moved root.

    A path under ``image_dir`` is cut directly; otherwise the part after the last
    ``anchor`` (``/<dataset_dir>/<image folder>/``) is kept, which maps a cache
    written under another ``DATASET.ROOT`` onto this one.
    """
    path = impath.replace(os.sep, "/")
    prefix = image_dir.replace(os.sep, "/").rstrip("/") + "/"
    if path.startswith(prefix):
        return path[len(prefix):]
    cut = path.rfind(anchor)
    if cut < 0:
        raise CacheError(f"it names {impath}, which is not inside a '{anchor.strip('/')}' folder")
    return path[cut + len(anchor):]


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: it would rescan ImageNet's million new objects again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_cache(path: str, keys: Sequence[str], image_dir: str, anchor: str) -> Dict[str, Split]:
    """Read the splits ``keys`` from a cache file written by this project or a reference repository.

    Raises :class:`CacheError` when the file cannot be used; the caller decides
    to rebuild. Content is not checked against the current data here.
    """
    with _gc_paused():
        return _load_cache(path, keys, image_dir, anchor)


def _load_cache(path: str, keys: Sequence[str], image_dir: str, anchor: str) -> Dict[str, Split]:
    try:
        with open(path, "rb") as f:
            data = _CacheUnpickler(f).load()
    except Exception as err:  # a truncated or foreign file can raise nearly anything
        raise CacheError(f"it cannot be read ({type(err).__name__}: {err})") from err
    if not isinstance(data, dict):
        raise CacheError(f"it holds a {type(data).__name__}, not a dict")
    ours = data.get("fvgpt")
    out: Dict[str, Split] = {}
    for key in keys:
        try:
            if ours is not None:
                if ours.get("format") != CACHE_FORMAT:
                    raise CacheError(f"unknown cache format {ours.get('format')!r}")
                out[key] = [_as_item(*entry) for entry in ours["splits"][key]]
            else:  # written by a reference repository: Datum objects with absolute paths
                out[key] = [
                    _as_item(_relative_to(getattr(d, "_impath"), image_dir, anchor), getattr(d, "_label"),
                             getattr(d, "_classname"))
                    for d in data[key]
                ]
        except CacheError:
            raise
        except Exception as err:
            raise CacheError(f"its '{key}' entry is malformed ({type(err).__name__}: {err})") from err
    return out


def save_cache(path: str, splits: Dict[str, Split], image_dir: str) -> None:
    """Write ``splits`` in the two-view cache format (see the module docstring), atomically."""
    payload = {
        key: [Datum(impath=os.path.join(image_dir, it.path), label=it.label, classname=it.classname) for it in items]
        for key, items in splits.items()
    }
    payload["fvgpt"] = {
        "format": CACHE_FORMAT,
        "splits": {key: [tuple(it) for it in items] for key, items in splits.items()},
    }
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pkl", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, _gc_paused():
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def missing_images(image_dir: str, items: Iterable[Item]) -> List[str]:
    """Absolute paths of the items whose image file does not exist."""
    return [p for p in (os.path.join(image_dir, it.path) for it in items) if not os.path.isfile(p)]


# ---------------------------------------------------------------------------
# The base class
# ---------------------------------------------------------------------------
class CoOpDataset(DatasetBase):
    """A dataset in the CoOp layout. Subclasses set the class attributes and read their raw files.

    Class attributes:
        dataset_dir: folder under ``DATASET.ROOT`` (the reference's name).
        image_subdir: image folder inside it; split paths are relative to it
            ("" means the dataset folder itself).
        split_file: ``split_zhou_<Name>.json``, or ``None`` when the raw lists
            are read on every run (no split file in the reference).
        raw_files: files and folders, relative to the dataset folder, that
            :meth:`read_raw_split` needs (checked up front for a clear error).
        test_only: an evaluation-only set (the ImageNet variants): no
            few-shot sampling, no validation set, ``train_x`` holds the test
            images only so that Dassl can derive the class names.
        fewshot_splits: which splits the few-shot cache holds.

    Instance attributes after construction: ``root``, ``dataset_dir``,
    ``image_dir``, ``split_path``, ``split_fewshot_dir`` (absolute paths).
    """

    dataset_dir = ""
    image_subdir = "images"
    split_file: Optional[str] = None
    raw_files: Tuple[str, ...] = ()
    test_only = False
    fewshot_splits: Tuple[str, ...] = ("train", "val")

    def __init__(self, cfg):
        with _gc_paused():  # ImageNet builds millions of small objects
            self._build(cfg)

    def _build(self, cfg) -> None:
        name = type(self).__name__
        self.root = os.path.abspath(os.path.expanduser(cfg.DATASET.ROOT))
        self.dataset_dir = os.path.join(self.root, type(self).dataset_dir)
        self.image_dir = os.path.join(self.dataset_dir, self.image_subdir) if self.image_subdir else self.dataset_dir
        self.split_path = os.path.join(self.dataset_dir, self.split_file) if self.split_file else None
        self.split_fewshot_dir = os.path.join(self.dataset_dir, FEWSHOT_DIR)
        self._check_layout(str(cfg.DATASET.ROOT))

        train, val, test = self.load_split()
        if self.test_only:
            train, val = list(test), None
        else:
            train, val = self.apply_few_shot(train, val, int(cfg.DATASET.NUM_SHOTS), cfg.SEED)
        subsample = cfg.DATASET.get("SUBSAMPLE_CLASSES", "all")
        if val is None:
            train, test = subsample_classes(train, test, subsample=subsample)
        else:
            train, val, test = subsample_classes(train, val, test, subsample=subsample)
        if not train:
            raise ValueError(f"{name}: no training images left under {self.image_dir}")
        self.verify_images(train + (val or []) + test)
        super().__init__(
            train_x=self._datums(train),
            val=None if val is None else self._datums(val),
            test=self._datums(test),
        )

    # ---- hooks -----------------------------------------------------------
    def read_raw_split(self) -> Tuple[Split, Split, Split]:
        """Build train/val/test from the dataset's own annotation files (may draw from ``random``)."""
        raise NotImplementedError(f"{type(self).__name__} has no raw reader; it needs {self.split_file}")

    def verify_images(self, items: Split) -> None:
        """Check the images this run uses. Nothing to do here: :meth:`load_split` checked the whole split."""

    # ---- steps -----------------------------------------------------------
    @property
    def docs(self) -> str:
        return docs_link(type(self).__name__)

    @property
    def cache_anchor(self) -> str:
        parts = [type(self).dataset_dir] + ([self.image_subdir] if self.image_subdir else [])
        return "/" + "/".join(parts) + "/"

    def _check_layout(self, root_setting: str) -> None:
        name = type(self).__name__
        if not os.path.isdir(self.dataset_dir):
            hint = " (DATASET.ROOT is empty, so the current directory was used: pass --root)" \
                if not root_setting.strip() else ""
            raise DatasetLayoutError(
                f"{name}: folder '{type(self).dataset_dir}' not found under DATASET.ROOT={self.root}{hint}; "
                f"looked for {self.dataset_dir}. See {self.docs} for the expected layout."
            )
        if not os.path.isdir(self.image_dir):
            raise DatasetLayoutError(
                f"{name}: image folder '{self.image_subdir}' not found in {self.dataset_dir}. "
                f"See {self.docs} for the expected layout."
            )
        if not self.has_prebuilt_split():
            self.check_raw_files()

    def has_prebuilt_split(self) -> bool:
        """Whether a stored split exists, so that the raw annotation files are not needed."""
        return bool(self.split_path) and os.path.exists(self.split_path)

    def check_raw_files(self) -> None:
        """Raise naming the raw annotation files that :meth:`read_raw_split` needs but cannot find."""
        absent = [f for f in self.raw_files if not os.path.exists(os.path.join(self.dataset_dir, f))]
        if absent:
            what = f"neither {self.split_file} nor " if self.split_file else ""
            raise DatasetLayoutError(
                f"{type(self).__name__}: {what}{', '.join(absent)} found in {self.dataset_dir}. "
                f"See {self.docs} for the expected layout."
            )

    def load_split(self) -> Tuple[Split, Split, Split]:
        """The full train/val/test: from the split file, else from the raw files (then saved)."""
        if self.split_path and os.path.exists(self.split_path):
            print(f"Reading split from {self.split_path}")
            train, val, test = read_split(self.split_path)
            source = self.split_path
        else:
            train, val, test = self.read_raw_split()
            source = "the annotation files in " + self.dataset_dir
            if self.split_path:
                try:
                    write_split(self.split_path, train, val, test)
                    print(f"Saved split to {self.split_path}")
                except OSError as err:
                    warnings.warn(f"could not write {self.split_path} ({err}); the split is rebuilt next time",
                                  DatasetCacheWarning, stacklevel=2)
        self.require_images(train + val + test, source)
        return train, val, test

    def require_images(self, items: Split, source: str) -> None:
        """Raise when images named by ``source`` are missing: how many, and the first few."""
        missing = missing_images(self.image_dir, items)
        if missing:
            raise FileNotFoundError(
                f"{type(self).__name__}: {len(missing)} of {len(items)} images listed in {source} are missing "
                f"(image folder {self.image_dir}); first ones:{_first(missing)}\nSee {self.docs}."
            )

    def apply_few_shot(self, train: Split, val: Split, num_shots: int, seed) -> Tuple[Split, Split]:
        """K images per class for train and min(K, 4) for val, cached per (K, seed), before subsampling."""
        if num_shots < 1:
            return train, val
        path = os.path.join(self.split_fewshot_dir, f"shot_{num_shots}-seed_{seed}.pkl")
        full = {"train": train, "val": val}
        shots = {"train": num_shots, "val": min(num_shots, VAL_SHOTS_CAP)}
        keys = self.fewshot_splits
        cached = self.read_cache(path, keys, check=lambda data: _check_fewshot(data, full, shots))
        if cached is not None:
            print(f"Loading few-shot data from {path}")
            sampled = cached
        else:
            print(f"Creating a {num_shots}-shot dataset")
            sampled = {key: sample_few_shot(full[key], shots[key]) for key in keys}
            self.write_cache(path, sampled)
        return sampled["train"], sampled.get("val", val)

    def read_cache(self, path: str, keys: Sequence[str], check: Callable[[Dict[str, Split]], None]):
        """The cached splits, or ``None`` when absent or unusable (then with a warning)."""
        if not os.path.exists(path):
            return None
        try:
            data = load_cache(path, keys, self.image_dir, self.cache_anchor)
            check(data)
            return data
        except CacheError as err:
            warnings.warn(f"{type(self).__name__}: cache {path} is unusable: {err}. Rebuilding it.",
                          DatasetCacheWarning, stacklevel=3)
            return None

    def write_cache(self, path: str, splits: Dict[str, Split]) -> None:
        try:
            save_cache(path, splits, self.image_dir)
            print(f"Saved few-shot data to {path}" if FEWSHOT_DIR in path else f"Saved {path}")
        except OSError as err:
            warnings.warn(f"could not write the cache {path} ({err}); continuing without it",
                          DatasetCacheWarning, stacklevel=3)

    def _datums(self, items: Split) -> list:
        return [Datum(impath=os.path.join(self.image_dir, it.path), label=it.label, classname=it.classname)
                for it in items]


def _check_fewshot(data: Dict[str, Split], full: Dict[str, Split], shots: Dict[str, int]) -> None:
    """A few-shot cache must be a draw from the current split: known items, min(K, n) per class."""
    for key, items in data.items():
        known = set(full[key])
        strangers = [it.path for it in items if it not in known]
        if strangers:
            raise CacheError(f"{len(strangers)} of its {key} images are not in the current {key} split "
                             f"(first: {strangers[0]})")
        if len(set(items)) != len(items):
            raise CacheError(f"its {key} images repeat")
        available: Dict[int, int] = defaultdict(int)
        for it in full[key]:
            available[it.label] += 1
        drawn: Dict[int, int] = defaultdict(int)
        for it in items:
            drawn[it.label] += 1
        expected = {label: min(shots[key], n) for label, n in available.items()}
        if dict(drawn) != expected:
            raise CacheError(f"its {key} images are not {shots[key]} per class")
