"""SUN397 scene categories. Layout: docs/DATASETS.md#sun397."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import CoOpDataset, Item, split_trainval


def scene_name(folder):
    """'a/apartment_building/outdoor' -> 'outdoor apartment_building': drop the letter, qualifier first."""
    return " ".join(reversed(folder.split("/")[1:]))


@DATASET_REGISTRY.register()
class SUN397(CoOpDataset):
    dataset_dir = "sun397"
    image_subdir = "SUN397"
    split_file = "split_zhou_SUN397.json"
    raw_files = ("ClassName.txt", "Training_01.txt", "Testing_01.txt")

    def read_raw_split(self):
        # ClassName.txt: "/a/abbey" per line, in label order; the partition lists name
        # images as "/a/abbey/sun_xxx.jpg" relative to the image folder.
        labels = {folder: i for i, folder in enumerate(self._lines("ClassName.txt"))}
        train, val = split_trainval(self._read_list("Training_01.txt", labels))
        return train, val, self._read_list("Testing_01.txt", labels)

    def _lines(self, name):
        with open(os.path.join(self.dataset_dir, name)) as f:
            return [line.strip()[1:] for line in f if line.strip()]

    def _read_list(self, name, labels):
        items = []
        for path in self._lines(name):
            folder = os.path.dirname(path)
            items.append(Item(path, labels[folder], scene_name(folder)))
        return items
