"""UCF101 actions, one middle frame per video. Layout: docs/DATASETS.md#ucf101."""
import os
import re

from dassl.data.datasets import DATASET_REGISTRY

from fvgpt.data.coop_layout import CoOpDataset, Item, split_trainval

LISTS = "ucfTrainTestlist"


def split_camel_case(action):
    """'ApplyEyeMakeup' -> 'Apply_Eye_Makeup': the frame folder name and the class name."""
    return "_".join(re.findall("[A-Z][^A-Z]*", action))


@DATASET_REGISTRY.register()
class UCF101(CoOpDataset):
    dataset_dir = "ucf101"
    image_subdir = "UCF-101-midframes"
    split_file = "split_zhou_UCF101.json"
    raw_files = tuple(f"{LISTS}/{name}" for name in ("classInd.txt", "trainlist01.txt", "testlist01.txt"))

    def read_raw_split(self):
        # classInd.txt: "<1-based id> <Action>"; trainlist01.txt: "<Action>/<video>.avi <id>";
        # testlist01.txt: "<Action>/<video>.avi". Frames are <Split_Action>/<video>.jpg.
        labels = {}
        for line in self._lines("classInd.txt"):
            class_id, action = line.split(" ")
            labels[action] = int(class_id) - 1
        train, val = split_trainval(self._read_list("trainlist01.txt", labels))
        return train, val, self._read_list("testlist01.txt", labels)

    def _lines(self, name):
        with open(os.path.join(self.dataset_dir, LISTS, name)) as f:
            return [line.strip() for line in f if line.strip()]

    def _read_list(self, name, labels):
        items = []
        for line in self._lines(name):
            action, video = line.split(" ")[0].split("/")
            folder = split_camel_case(action)
            items.append(Item(f"{folder}/{video.replace('.avi', '.jpg')}", labels[action], folder))
        return items
