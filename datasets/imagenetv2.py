"""ImageNetV2 (matched frequency), test only. Layout: docs/DATASETS.md#imagenetv2.

Its class folders are named by label ("0", "1", ...), in the order of classnames.txt.
"""
import os

from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import DatasetLayoutError, Item, list_images

from .imagenet import ImageNetVariant, read_classnames


@DATASET_REGISTRY.register()
class ImageNetV2(ImageNetVariant):
    dataset_dir = "imagenetv2"
    image_subdir = "imagenetv2-matched-frequency-format-val"

    def read_raw_split(self):
        names = list(read_classnames(os.path.join(self.dataset_dir, "classnames.txt")).values())
        absent = [str(label) for label in range(len(names))
                  if not os.path.isdir(os.path.join(self.image_dir, str(label)))]
        if absent:
            raise DatasetLayoutError(
                f"ImageNetV2: {len(absent)} of the {len(names)} class folders 0..{len(names) - 1} are missing "
                f"in {self.image_dir} (first: {', '.join(absent[:5])}). See {self.docs}."
            )
        test = []
        for label, name in enumerate(names):
            test.extend(Item(f"{label}/{f}", label, name) for f in list_images(os.path.join(self.image_dir, str(label))))
        return [], [], test
