"""Food-101. Layout: docs/DATASETS.md#food101."""
from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import CoOpDataset, folder_per_class, split_classwise


@DATASET_REGISTRY.register()
class Food101(CoOpDataset):
    dataset_dir = "food-101"
    image_subdir = "images"
    split_file = "split_zhou_Food101.json"

    def read_raw_split(self):
        return split_classwise(folder_per_class(self.image_dir))
