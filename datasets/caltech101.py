"""Caltech-101 (100 object classes; the background class and Faces_easy are left out).

Layout: docs/DATASETS.md#caltech101.
"""
from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import CoOpDataset, folder_per_class, split_classwise

IGNORED = ("BACKGROUND_Google", "Faces_easy")
CLASS_NAMES = {"airplanes": "airplane", "Faces": "face", "Leopards": "leopard", "Motorbikes": "motorbike"}


@DATASET_REGISTRY.register()
class Caltech101(CoOpDataset):
    dataset_dir = "caltech-101"
    image_subdir = "101_ObjectCategories"
    split_file = "split_zhou_Caltech101.json"

    def read_raw_split(self):
        return split_classwise(folder_per_class(self.image_dir, ignored=IGNORED, renames=CLASS_NAMES))
