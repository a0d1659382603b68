"""Oxford-IIIT Pets: 37 cat and dog breeds. Layout: docs/DATASETS.md#oxfordpets."""
import os

from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import CoOpDataset, Item, split_trainval


@DATASET_REGISTRY.register()
class OxfordPets(CoOpDataset):
    dataset_dir = "oxford_pets"
    image_subdir = "images"
    split_file = "split_zhou_OxfordPets.json"
    raw_files = ("annotations/trainval.txt", "annotations/test.txt")

    def read_raw_split(self):
        train, val = split_trainval(self._read_list("trainval.txt"))
        return train, val, self._read_list("test.txt")

    def _read_list(self, name):
        # Lines "<Breed_name>_<n> <class id> <species> <breed id>"; class ids start at 1.
        # The class name is the image name without its number, lower-cased.
        items = []
        with open(os.path.join(self.dataset_dir, "annotations", name)) as f:
            for line in f:
                fields = line.split()
                if not fields or fields[0].startswith("#"):
                    continue
                image, class_id = fields[0], int(fields[1])
                items.append(Item(f"{image}.jpg", class_id - 1, image.rsplit("_", 1)[0].lower()))
        return items
