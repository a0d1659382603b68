"""ImageNet-1k and what its variants share. Layout: docs/DATASETS.md#imagenet.

ImageNet has no split file: the listing of images/train and images/val is cached
in preprocessed.pkl (the reference's name and content, plus relative paths).
The official val images are the test set. The reference also passes them as the
validation set; here the few-shot validation set is instead drawn from the
training images that the few-shot draw left out (min(K, 4) per class, with its
own random generator, so the reference's draws are untouched). Without
few-shot sampling there is no validation set.
"""
import os
import random
from collections import OrderedDict

from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import (
    VAL_SHOTS_CAP,
    CacheError,
    CoOpDataset,
    DatasetLayoutError,
    Item,
    class_folders,
    list_images,
    missing_images,
    sample_few_shot,
)

LISTING = "preprocessed.pkl"


def read_classnames(path):
    """classnames.txt: '<wnid> <class name, may contain spaces>' per line -> OrderedDict wnid -> name."""
    names = OrderedDict()
    with open(path) as f:
        for line in f:
            wnid, _, name = line.strip().partition(" ")
            if wnid:
                names[wnid] = name
    return names


def wnid_folders(dataset, image_dir, names, prefix=""):
    """Items of a folder with one sub-folder per wnid: labels follow the sorted folder names."""
    items = []
    for label, wnid in enumerate(class_folders(image_dir)):
        if wnid not in names:
            raise DatasetLayoutError(
                f"{type(dataset).__name__}: folder {os.path.join(image_dir, wnid)} has no line in "
                f"{os.path.join(dataset.dataset_dir, 'classnames.txt')}. See {dataset.docs}."
            )
        items.extend(Item(f"{prefix}{wnid}/{name}", label, names[wnid])
                     for name in list_images(os.path.join(image_dir, wnid)))
    return items


@DATASET_REGISTRY.register()
class ImageNet(CoOpDataset):
    dataset_dir = "imagenet"
    image_subdir = "images"
    split_file = None
    raw_files = ("classnames.txt", "images/train", "images/val")
    fewshot_splits = ("train",)

    @property
    def listing_path(self):
        return os.path.join(self.dataset_dir, LISTING)

    def has_prebuilt_split(self):
        return os.path.exists(self.listing_path)

    def load_split(self):
        cached = self.read_cache(self.listing_path, ("train", "test"), check=self._check_listing)
        if cached is not None:
            print(f"Reading the image listing from {self.listing_path}")
            self._listed_now = False
            return cached["train"], [], cached["test"]
        self.check_raw_files()
        train, _, test = self.read_raw_split()
        self.write_cache(self.listing_path, {"train": train, "test": test})
        self._listed_now = True
        return train, [], test

    def _check_listing(self, data):
        # Cheap: the class folders only. Checking 1.3M files on every run would cost minutes on network
        # storage; the images a run actually uses are checked in verify_images.
        folders = sorted({it.path.rsplit("/", 1)[0] for it in data["train"] + data["test"]})
        gone = [f for f in folders if not os.path.isdir(os.path.join(self.image_dir, f))]
        if gone:
            raise CacheError(f"{len(gone)} of its class folders no longer exist (first: {gone[0]})")

    def verify_images(self, items):
        if self._listed_now:
            return
        missing = missing_images(self.image_dir, items)
        if missing:
            shown = "\n  ".join(missing[:5])
            raise FileNotFoundError(
                f"ImageNet: {len(missing)} of the {len(items)} images this run uses are missing although "
                f"{self.listing_path} lists them; first ones:\n  {shown}\n"
                f"Delete {self.listing_path} to list the images again. See {self.docs}."
            )

    def read_raw_split(self):
        names = read_classnames(os.path.join(self.dataset_dir, "classnames.txt"))
        train = wnid_folders(self, os.path.join(self.image_dir, "train"), names, prefix="train/")
        test = wnid_folders(self, os.path.join(self.image_dir, "val"), names, prefix="val/")
        return train, [], test

    def apply_few_shot(self, train, val, num_shots, seed):
        if num_shots < 1:
            return train, []
        few, _ = super().apply_few_shot(train, [], num_shots, seed)
        drawn = set(few)
        rest = [it for it in train if it not in drawn]
        val = sample_few_shot(rest, min(num_shots, VAL_SHOTS_CAP), rng=random.Random(f"imagenet-val-{seed}"))
        return few, val


class ImageNetVariant(CoOpDataset):
    """A test-only ImageNet variant with a copy of ImageNet's classnames.txt in its folder."""

    raw_files = ("classnames.txt",)
    test_only = True

    def read_raw_split(self):
        names = read_classnames(os.path.join(self.dataset_dir, "classnames.txt"))
        return [], [], wnid_folders(self, self.image_dir, names)
