"""Stanford Cars (196 models). Layout: docs/DATASETS.md#stanfordcars.

Split paths are relative to the dataset folder itself (cars_train/..., cars_test/...).
"""
import os

import numpy as np
from dassl.data.datasets import DATASET_REGISTRY
from scipy.io import loadmat

from fvgpt.data.coop_layout import CoOpDataset, Item, split_trainval

TRAIN_ANNOS = "devkit/cars_train_annos.mat"
TEST_ANNOS = "cars_test_annos_withlabels.mat"
META = "devkit/cars_meta.mat"


def _scalar(value):
    """The single element of a MATLAB field as loaded by scipy (a nested 1-element array)."""
    return np.asarray(value).ravel()[0]


def year_first(name):
    """'AM General Hummer SUV 2000' -> '2000 AM General Hummer SUV' (the model year leads)."""
    *model, year = name.split(" ")
    return " ".join([year] + model)


@DATASET_REGISTRY.register()
class StanfordCars(CoOpDataset):
    dataset_dir = "stanford_cars"
    image_subdir = ""
    split_file = "split_zhou_StanfordCars.json"
    raw_files = (TRAIN_ANNOS, TEST_ANNOS, META)

    def read_raw_split(self):
        meta = loadmat(os.path.join(self.dataset_dir, META))["class_names"].ravel()
        names = [year_first(str(_scalar(entry))) for entry in meta]
        train, val = split_trainval(self._read_annos("cars_train", TRAIN_ANNOS, names))
        return train, val, self._read_annos("cars_test", TEST_ANNOS, names)

    def _read_annos(self, folder, annos_file, names):
        # "annotations": one record per image with fields "fname" and a 1-based "class".
        records = loadmat(os.path.join(self.dataset_dir, annos_file))["annotations"].ravel()
        items = []
        for rec in records:
            label = int(_scalar(rec["class"])) - 1
            items.append(Item(f"{folder}/{_scalar(rec['fname'])}", label, names[label]))
        return items
