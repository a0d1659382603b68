"""The project's synthetic dataset (see fvgpt/data/synthetic.py), registered as ``Synthetic``."""
import math
import os

from dassl.data.datasets import DATASET_REGISTRY, Datum, DatasetBase
from dassl.utils import read_json

from fvgpt.data.synthetic import DATASET_DIR, SPLIT_FILE


@DATASET_REGISTRY.register()
class Synthetic(DatasetBase):
    dataset_dir = DATASET_DIR

    def __init__(self, cfg):
        root = os.path.abspath(os.path.expanduser(cfg.DATASET.ROOT))
        self.dataset_dir = os.path.join(root, self.dataset_dir)
        self.image_dir = os.path.join(self.dataset_dir, "images")
        split = read_json(os.path.join(self.dataset_dir, SPLIT_FILE))
        train, val, test = ([Datum(impath=os.path.join(self.image_dir, p), label=int(l), classname=c)
                             for p, l, c in split[k]] for k in ("train", "val", "test"))
        if cfg.DATASET.NUM_SHOTS >= 1:
            k = cfg.DATASET.NUM_SHOTS
            train = self.generate_fewshot_dataset(train, num_shots=k)
            val = self.generate_fewshot_dataset(val, num_shots=min(k, 4))
        sub = cfg.DATASET.SUBSAMPLE_CLASSES
        if sub != "all":
            labels = sorted({d.label for d in train})
            m = math.ceil(len(labels) / 2)
            keep = labels[:m] if sub == "base" else labels[m:]
            relabel = {y: i for i, y in enumerate(keep)}
            train, val, test = ([Datum(impath=d.impath, label=relabel[d.label], classname=d.classname)
                                 for d in part if d.label in relabel] for part in (train, val, test))
        super().__init__(train_x=train, val=val, test=test)
