"""FGVC-Aircraft (100 variants). Layout: docs/DATASETS.md#fgvcaircraft.

No split file: the official train/val/test lists are read on every run.
"""
import os

from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import CoOpDataset, Item

LISTS = ("images_variant_train.txt", "images_variant_val.txt", "images_variant_test.txt")


@DATASET_REGISTRY.register()
class FGVCAircraft(CoOpDataset):
    dataset_dir = "fgvc_aircraft"
    image_subdir = "images"
    split_file = None
    raw_files = ("variants.txt",) + LISTS

    def read_raw_split(self):
        # variants.txt: one class name per line, in label order.
        with open(os.path.join(self.dataset_dir, "variants.txt")) as f:
            labels = {name: i for i, name in enumerate(line.strip() for line in f if line.strip())}
        return tuple(self._read_list(name, labels) for name in LISTS)

    def _read_list(self, name, labels):
        # Lines "<image id> <class name, may contain spaces>".
        items = []
        with open(os.path.join(self.dataset_dir, name)) as f:
            for line in f:
                image, _, classname = line.strip().partition(" ")
                if image:
                    items.append(Item(f"{image}.jpg", labels[classname], classname))
        return items
