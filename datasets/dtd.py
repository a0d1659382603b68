"""Describable Textures (DTD, 47 classes). Layout: docs/DATASETS.md#describabletextures."""
from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import CoOpDataset, folder_per_class, split_classwise


@DATASET_REGISTRY.register()
class DescribableTextures(CoOpDataset):
    dataset_dir = "dtd"
    image_subdir = "images"
    split_file = "split_zhou_DescribableTextures.json"

    def read_raw_split(self):
        return split_classwise(folder_per_class(self.image_dir))
