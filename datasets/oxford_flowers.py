"""Oxford Flowers-102. Layout: docs/DATASETS.md#oxfordflowers."""
import os

from dassl.data.datasets import DATASET_REGISTRY
from dassl.utils import read_json
from scipy.io import loadmat

from fvgpt.data.coop_layout import CoOpDataset, split_classwise


@DATASET_REGISTRY.register()
class OxfordFlowers(CoOpDataset):
    dataset_dir = "oxford_flowers"
    image_subdir = "jpg"
    split_file = "split_zhou_OxfordFlowers.json"
    raw_files = ("imagelabels.mat", "cat_to_name.json")

    def read_raw_split(self):
        # imagelabels.mat: "labels", one 1-based class id per image_00001.jpg, image_00002.jpg, ...
        # cat_to_name.json: {"<class id>": "<class name>"}.
        labels = loadmat(os.path.join(self.dataset_dir, "imagelabels.mat"))["labels"].ravel()
        names = read_json(os.path.join(self.dataset_dir, "cat_to_name.json"))
        by_class = {}
        for i, class_id in enumerate(labels):
            by_class.setdefault(int(class_id), []).append(f"image_{i + 1:05d}.jpg")
        return split_classwise((cid - 1, names[str(cid)], paths) for cid, paths in by_class.items())
