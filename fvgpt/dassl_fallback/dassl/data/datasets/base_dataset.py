"""``Datum`` (one labelled image) and ``DatasetBase`` (the splits of a dataset).

``Datum`` must stay at this module path with the attributes ``_impath``,
``_label``, ``_domain`` and ``_classname``: CoOp-family datasets pickle lists of
Datum objects as few-shot caches, and those files are shared between this
fallback and upstream Dassl in both directions.
"""
from __future__ import annotations

import os
import random
import tarfile
import zipfile
from collections import defaultdict
from typing import Any, Sequence

__all__ = ["Datum", "DatasetBase", "MissingImageError"]


class MissingImageError(FileNotFoundError, AssertionError):
    """A Datum's image file does not exist.

    An AssertionError too, because upstream asserts here and callers may catch that.
    """


class Datum:
    """An image path with its class label, domain label and class name (read-only)."""

    def __init__(self, impath: str = "", label: int = 0, domain: int = 0, classname: str = "") -> None:
        if not isinstance(impath, str):
            raise TypeError(f"Datum impath must be a str, got {type(impath).__name__}: {impath!r}")
        if not os.path.isfile(impath):
            raise MissingImageError(f'Datum: no image file at "{impath}" (check DATASET.ROOT and the split file)')
        self._impath = impath
        self._label = label
        self._domain = domain
        self._classname = classname

    @property
    def impath(self) -> str:
        return self._impath

    @property
    def label(self) -> int:
        return self._label

    @property
    def domain(self) -> int:
        return self._domain

    @property
    def classname(self) -> str:
        return self._classname

    def __repr__(self) -> str:
        return (
            f"Datum(impath={self._impath!r}, label={self._label}, "
            f"domain={self._domain}, classname={self._classname!r})"
        )


class DatasetBase:
    """The train_x / train_u / val / test lists of Datum objects of one dataset.

    ``num_classes``, ``lab2cname`` and ``classnames`` are derived from train_x,
    so after base/new class subsampling they describe the classes trained on.
    """

    dataset_dir = ""  # folder under DATASET.ROOT holding the dataset
    domains: list[str] = []  # domain names (DA/DG datasets)

    def __init__(
        self,
        train_x: list[Datum] | None = None,
        train_u: list[Datum] | None = None,
        val: list[Datum] | None = None,
        test: list[Datum] | None = None,
    ) -> None:
        if not train_x:
            raise ValueError(f"{type(self).__name__}: train_x is empty; the classes are derived from it")
        self._train_x = train_x
        self._train_u = train_u
        self._val = val
        self._test = test
        self._num_classes = self.get_num_classes(train_x)
        self._lab2cname, self._classnames = self.get_lab2cname(train_x)

    @property
    def train_x(self) -> list[Datum]:
        return self._train_x

    @property
    def train_u(self) -> list[Datum] | None:
        return self._train_u

    @property
    def val(self) -> list[Datum] | None:
        return self._val

    @property
    def test(self) -> list[Datum] | None:
        return self._test

    @property
    def lab2cname(self) -> dict[int, str]:
        return self._lab2cname

    @property
    def classnames(self) -> list[str]:
        return self._classnames

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @staticmethod
    def get_num_classes(data_source: Sequence[Datum]) -> int:
        """Largest label + 1 (labels are assumed to be 0..K-1)."""
        return max(item.label for item in data_source) + 1

    @staticmethod
    def get_lab2cname(data_source: Sequence[Datum]) -> tuple[dict[int, str], list[str]]:
        """``({label: classname}, classnames sorted by label)``."""
        mapping = {item.label: item.classname for item in data_source}
        labels = sorted(mapping)
        return {label: mapping[label] for label in labels}, [mapping[label] for label in labels]

    def check_input_domains(self, source_domains: Sequence[str], target_domains: Sequence[str]) -> None:
        if not source_domains:
            raise ValueError("DATASET.SOURCE_DOMAINS is empty")
        if not target_domains:
            raise ValueError("DATASET.TARGET_DOMAINS is empty")
        self.is_input_domain_valid(source_domains)
        self.is_input_domain_valid(target_domains)

    def is_input_domain_valid(self, input_domains: Sequence[str]) -> None:
        for domain in input_domains:
            if domain not in self.domains:
                raise ValueError(f"Input domain must belong to {self.domains}, but got [{domain}]")

    def download_data(self, url: str, dst: str, from_gdrive: bool = True) -> None:
        """Download ``url`` to ``dst`` with gdown and extract it next to ``dst``."""
        if not from_gdrive:
            raise NotImplementedError("only Google Drive downloads (gdown) are supported")
        import gdown  # optional: only needed by datasets that download themselves

        os.makedirs(os.path.dirname(dst), exist_ok=True)
        gdown.download(url, dst, quiet=False)
        print("Extracting file ...")
        target = os.path.dirname(dst)
        if dst.endswith(".zip"):
            with zipfile.ZipFile(dst) as zf:
                zf.extractall(target)
        elif dst.endswith((".tar", ".tar.gz", ".tgz")):
            with tarfile.open(dst) as tar:
                kwargs: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(target, **kwargs)
        else:
            raise NotImplementedError(f"cannot extract {dst}: expected .zip, .tar or .tar.gz")
        print(f"File extracted to {target}")

    def generate_fewshot_dataset(
        self, *data_sources: list[Datum], num_shots: int = -1, repeat: bool = False
    ) -> Any:
        """Sample ``num_shots`` items per class from each source.

        Uses Python's global ``random`` in label-first-seen order, exactly like
        upstream, so a given seed picks the same images as the reference runs.
        A class with fewer items keeps all of them (or is sampled with
        replacement up to ``num_shots`` when ``repeat``). One source in, one
        list out; several in, a list of lists out. ``num_shots < 1`` returns
        the sources unchanged.
        """
        if num_shots < 1:
            return data_sources[0] if len(data_sources) == 1 else data_sources
        print(f"Creating a {num_shots}-shot dataset")
        output = []
        for data_source in data_sources:
            dataset: list[Datum] = []
            for items in self.split_dataset_by_label(data_source).values():
                if len(items) >= num_shots:
                    dataset.extend(random.sample(items, num_shots))
                elif repeat:
                    dataset.extend(random.choices(items, k=num_shots))
                else:
                    dataset.extend(items)
            output.append(dataset)
        return output[0] if len(output) == 1 else output

    def split_dataset_by_label(self, data_source: Sequence[Datum]) -> defaultdict[int, list[Datum]]:
        """``{label: [items]}`` in the order labels first appear."""
        output: defaultdict[int, list[Datum]] = defaultdict(list)
        for item in data_source:
            output[item.label].append(item)
        return output

    def split_dataset_by_domain(self, data_source: Sequence[Datum]) -> defaultdict[int, list[Datum]]:
        """``{domain: [items]}`` in the order domains first appear."""
        output: defaultdict[int, list[Datum]] = defaultdict(list)
        for item in data_source:
            output[item.domain].append(item)
        return output
