"""Miniature copies of the on-disk layouts of the 15 standard datasets, for tests.

Each builder writes, under a given DATASET.ROOT, a few classes with a few tiny
images and the dataset's real annotation formats (.mat files, text lists,
classnames.txt), and returns a :class:`MiniLayout` saying what the dataset
class should find. No split json is written: the first build creates it from
the raw files, exactly as on a fresh download; tests that need a given split
file write one with :func:`write_split_json`.
"""
from __future__ import annotations

import io
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
from PIL import Image
from scipy.io import savemat

IMAGE_SIZE = (12, 8)  # width, height of every miniature image
REPO = Path(__file__).resolve().parents[1]


@dataclass
class MiniLayout:
    name: str  # DATASET.NAME
    config: str  # configs/datasets/<config>
    root: Path  # DATASET.ROOT
    dataset_dir: Path
    image_dir: Path
    classnames: List[str]  # in label order, after the reference's renaming rules
    split_file: Optional[str] = None  # split_zhou_*.json name, None where the reference reads none
    test_only: bool = False
    images: List[Path] = field(default_factory=list)  # every image file written


_JPEG: Dict[tuple, bytes] = {}


def jpeg_bytes(size=IMAGE_SIZE, color=(200, 30, 30)) -> bytes:
    key = (size, color)
    if key not in _JPEG:
        buf = io.BytesIO()
        Image.new("RGB", size, color).save(buf, format="JPEG")
        _JPEG[key] = buf.getvalue()
    return _JPEG[key]


def _image(layout: MiniLayout, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes())
    layout.images.append(path)


def _text(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def _layout(name, config, root, dataset_dir, image_subdir, classnames, split_file=None, test_only=False):
    root = Path(root)
    ddir = root / dataset_dir
    idir = ddir / image_subdir if image_subdir else ddir
    idir.mkdir(parents=True, exist_ok=True)
    return MiniLayout(name, config, root, ddir, idir, list(classnames), split_file, test_only)


def write_split_json(layout: MiniLayout, split: Dict[str, list]) -> Path:
    """Write ``split`` ({"train"|"val"|"test": [[path, label, classname], ...]}) as the dataset's split file."""
    path = layout.dataset_dir / layout.split_file
    path.write_text(json.dumps(split, indent=4))
    return path


# ---------------------------------------------------------------------------
# The eleven base-to-new datasets
# ---------------------------------------------------------------------------
PETS = ["Abyssinian", "american_bulldog", "american_pit_bull_terrier", "Bengal", "beagle"]


def build_oxford_pets(root) -> MiniLayout:
    lay = _layout("OxfordPets", "oxford_pets.yaml", root, "oxford_pets", "images",
                  [b.lower() for b in PETS], "split_zhou_OxfordPets.json")
    trainval, test = [], []
    for n in range(1, 9):  # 6 trainval + 2 test images per breed, classes interleaved
        for cid, breed in enumerate(PETS, start=1):
            species = 1 if breed[0].isupper() else 2  # cats are capitalised in the real data
            line = f"{breed}_{n} {cid} {species} {cid}"
            (trainval if n <= 6 else test).append(line)
            _image(lay, lay.image_dir / f"{breed}_{n}.jpg")
    _text(lay.dataset_dir / "annotations" / "trainval.txt", trainval)
    _text(lay.dataset_dir / "annotations" / "test.txt", test)
    return lay


FLOWERS = ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea", "english marigold"]


def build_oxford_flowers(root) -> MiniLayout:
    lay = _layout("OxfordFlowers", "oxford_flowers.yaml", root, "oxford_flowers", "jpg", FLOWERS,
                  "split_zhou_OxfordFlowers.json")
    # 6 images per class, ids interleaved and starting with class 3, so that the
    # order of first appearance differs from the label order.
    labels = [(i % 5 + 2) % 5 + 1 for i in range(30)]
    for i in range(len(labels)):
        _image(lay, lay.image_dir / f"image_{i + 1:05d}.jpg")
    savemat(lay.dataset_dir / "imagelabels.mat", {"labels": np.array([labels], dtype=np.uint8)})
    (lay.dataset_dir / "cat_to_name.json").write_text(json.dumps({str(i + 1): n for i, n in enumerate(FLOWERS)}))
    return lay


AIRCRAFT = ["707-320", "727-200", "A300B4", "Cessna 172", "F/A-18"]


def build_fgvc_aircraft(root) -> MiniLayout:
    lay = _layout("FGVCAircraft", "fgvc_aircraft.yaml", root, "fgvc_aircraft", "images", AIRCRAFT)
    _text(lay.dataset_dir / "variants.txt", AIRCRAFT)
    image_id = 1000000
    for split, per_class in (("train", 3), ("val", 2), ("test", 2)):
        lines = []
        for _ in range(per_class):
            for variant in AIRCRAFT:
                image_id += 7
                lines.append(f"{image_id} {variant}")
                _image(lay, lay.image_dir / f"{image_id}.jpg")
        _text(lay.dataset_dir / f"images_variant_{split}.txt", lines)
    # files the dataset must not need
    _text(lay.dataset_dir / "families.txt", ["Boeing", "Airbus"])
    return lay


def _folder_per_class(lay: MiniLayout, folders, per_class=6, ext="jpg", stray=()):
    for folder in folders:
        for n in range(per_class):
            _image(lay, lay.image_dir / folder / f"{folder.lower()}_{n:04d}.{ext}")
    for name in stray:  # hidden or non-class entries the reader must skip
        _text(lay.image_dir / name, ["not an image"])
    return lay


DTD = ["banded", "blotchy", "braided", "bubbly", "bumpy"]


def build_dtd(root) -> MiniLayout:
    lay = _layout("DescribableTextures", "dtd.yaml", root, "dtd", "images", DTD,
                  "split_zhou_DescribableTextures.json")
    _folder_per_class(lay, DTD, stray=(".DS_Store",))
    _text(lay.dataset_dir / "labels" / "labels_joint_anno.txt", ["banded/banded_0000.jpg banded"])
    return lay


EUROSAT = {"AnnualCrop": "Annual Crop Land", "Forest": "Forest", "HerbaceousVegetation": "Herbaceous Vegetation Land",
           "Highway": "Highway or Road", "SeaLake": "Sea or Lake"}


def build_eurosat(root) -> MiniLayout:
    lay = _layout("EuroSAT", "eurosat.yaml", root, "eurosat", "2750", [EUROSAT[k] for k in sorted(EUROSAT)],
                  "split_zhou_EuroSAT.json")
    return _folder_per_class(lay, sorted(EUROSAT))


CARS = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Acura TL Sedan 2012", "Acura TL Type-S 2008",
        "Acura TSX Sedan 2012"]


def _mat_annotations(path: Path, records) -> None:
    dtype = [("bbox_x1", "O"), ("bbox_y1", "O"), ("bbox_x2", "O"), ("bbox_y2", "O"), ("class", "O"), ("fname", "O")]
    arr = np.zeros((1, len(records)), dtype=dtype)
    for i, (fname, cid) in enumerate(records):
        arr[0, i] = (np.array([[1]], dtype=np.uint8), np.array([[1]], dtype=np.uint8),
                     np.array([[10]], dtype=np.uint8), np.array([[6]], dtype=np.uint8),
                     np.array([[cid]], dtype=np.uint8), np.array([fname]))
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {"annotations": arr})


def build_stanford_cars(root) -> MiniLayout:
    names = []
    for model in CARS:
        *rest, year = model.split(" ")
        names.append(" ".join([year] + rest))
    lay = _layout("StanfordCars", "stanford_cars.yaml", root, "stanford_cars", "", names,
                  "split_zhou_StanfordCars.json")
    for folder, per_class, annos in (("cars_train", 6, "devkit/cars_train_annos.mat"),
                                     ("cars_test", 2, "cars_test_annos_withlabels.mat")):
        records = []
        for n in range(per_class * len(CARS)):
            fname = f"{n + 1:05d}.jpg"
            records.append((fname, n % len(CARS) + 1))
            _image(lay, lay.dataset_dir / folder / fname)
        _mat_annotations(lay.dataset_dir / annos, records)
    meta = np.empty((1, len(CARS)), dtype=object)
    for i, model in enumerate(CARS):
        meta[0, i] = np.array([model])
    savemat(lay.dataset_dir / "devkit" / "cars_meta.mat", {"class_names": meta})
    return lay


FOOD = ["apple_pie", "baby_back_ribs", "baklava", "beef_carpaccio", "beef_tartare"]


def build_food101(root) -> MiniLayout:
    lay = _layout("Food101", "food101.yaml", root, "food-101", "images", FOOD, "split_zhou_Food101.json")
    _folder_per_class(lay, FOOD)
    _text(lay.dataset_dir / "meta" / "classes.txt", FOOD)
    return lay


SUN = {"/a/abbey": "abbey", "/a/airplane_cabin": "airplane_cabin",
       "/a/apartment_building/outdoor": "outdoor apartment_building", "/b/badlands": "badlands",
       "/b/bakery/shop": "shop bakery"}


def build_sun397(root) -> MiniLayout:
    lay = _layout("SUN397", "sun397.yaml", root, "sun397", "SUN397", list(SUN.values()), "split_zhou_SUN397.json")
    _text(lay.dataset_dir / "ClassName.txt", list(SUN))
    for split, numbers in (("Training_01.txt", range(6)), ("Testing_01.txt", range(6, 8))):
        lines = []
        for c, folder in enumerate(SUN):
            for n in numbers:
                rel = f"{folder}/sun_a{c:03d}b{n:02d}.jpg"
                lines.append(rel)
                _image(lay, lay.image_dir / rel.lstrip("/"))
        _text(lay.dataset_dir / split, lines)
    return lay


CALTECH = ["BACKGROUND_Google", "Faces", "Faces_easy", "Leopards", "Motorbikes", "accordion", "airplanes"]


def build_caltech101(root) -> MiniLayout:
    # Sorted folders: Faces, Leopards, Motorbikes, accordion, airplanes (upper case sorts first).
    lay = _layout("Caltech101", "caltech101.yaml", root, "caltech-101", "101_ObjectCategories",
                  ["face", "leopard", "motorbike", "accordion", "airplane"], "split_zhou_Caltech101.json")
    return _folder_per_class(lay, CALTECH)


UCF = ["ApplyEyeMakeup", "ApplyLipstick", "Archery", "BabyCrawling", "YoYo"]


def build_ucf101(root) -> MiniLayout:
    lay = _layout("UCF101", "ucf101.yaml", root, "ucf101", "UCF-101-midframes",
                  ["Apply_Eye_Makeup", "Apply_Lipstick", "Archery", "Baby_Crawling", "Yo_Yo"],
                  "split_zhou_UCF101.json")
    lists = lay.dataset_dir / "ucfTrainTestlist"
    _text(lists / "classInd.txt", [f"{i + 1} {a}" for i, a in enumerate(UCF)])
    train, test = [], []
    for group in range(1, 9):
        for i, (action, folder) in enumerate(zip(UCF, lay.classnames)):
            video = f"v_{action}_g{group:02d}_c01"
            if group <= 6:
                train.append(f"{action}/{video}.avi {i + 1}")
            else:
                test.append(f"{action}/{video}.avi")
            _image(lay, lay.image_dir / folder / f"{video}.jpg")
    _text(lists / "trainlist01.txt", train)
    _text(lists / "testlist01.txt", test)
    return lay


# ---------------------------------------------------------------------------
# ImageNet and its variants
# ---------------------------------------------------------------------------
WNIDS = {"n01440764": "tench", "n01443537": "goldfish", "n01484850": "great white shark",
         "n01491361": "tiger shark", "n01494475": "hammerhead shark", "n01496331": "electric ray"}


def _classnames_txt(lay: MiniLayout) -> None:
    _text(lay.dataset_dir / "classnames.txt", [f"{w} {n}" for w, n in WNIDS.items()])


def build_imagenet(root) -> MiniLayout:
    wnids = list(WNIDS)[:5]
    lay = _layout("ImageNet", "imagenet.yaml", root, "imagenet", "images", [WNIDS[w] for w in wnids])
    _classnames_txt(lay)
    for w in wnids:
        for n in range(8):
            _image(lay, lay.image_dir / "train" / w / f"{w}_{n + 1}.JPEG")
        for n in range(2):
            _image(lay, lay.image_dir / "val" / w / f"ILSVRC2012_val_{w[-4:]}{n}.JPEG")
    return lay


def build_imagenetv2(root) -> MiniLayout:
    lay = _layout("ImageNetV2", "imagenetv2.yaml", root, "imagenetv2", "imagenetv2-matched-frequency-format-val",
                  list(WNIDS.values()), test_only=True)
    _classnames_txt(lay)
    for label in range(len(WNIDS)):
        for n in range(3):
            _image(lay, lay.image_dir / str(label) / f"{label:03d}{n}abcdef.jpeg")
    return lay


def _wnid_variant(name, config, root, dataset_dir, image_subdir, wnids, ext, readme=False):
    lay = _layout(name, config, root, dataset_dir, image_subdir, [WNIDS[w] for w in sorted(wnids)], test_only=True)
    _classnames_txt(lay)
    for w in wnids:
        for n in range(3):
            _image(lay, lay.image_dir / w / f"{n}_{w}.{ext}")
    if readme:  # ImageNet-A and -R ship a README.txt beside their class folders
        _text(lay.image_dir / "README.txt", ["not a class"])
    return lay


def build_imagenet_sketch(root) -> MiniLayout:
    return _wnid_variant("ImageNetSketch", "imagenet_sketch.yaml", root, "imagenet-sketch", "images",
                         list(WNIDS), "JPEG")


def build_imagenet_a(root) -> MiniLayout:
    # a subset of the wnids in classnames.txt, as the real 200-class set
    return _wnid_variant("ImageNetA", "imagenet_a.yaml", root, "imagenet-adversarial", "imagenet-a",
                         ["n01443537", "n01491361", "n01496331"], "jpg", readme=True)


def build_imagenet_r(root) -> MiniLayout:
    return _wnid_variant("ImageNetR", "imagenet_r.yaml", root, "imagenet-rendition", "imagenet-r",
                         ["n01440764", "n01484850", "n01491361", "n01494475"], "jpg", readme=True)


BUILDERS: Dict[str, Callable[[Path], MiniLayout]] = {
    "OxfordPets": build_oxford_pets,
    "OxfordFlowers": build_oxford_flowers,
    "FGVCAircraft": build_fgvc_aircraft,
    "DescribableTextures": build_dtd,
    "EuroSAT": build_eurosat,
    "StanfordCars": build_stanford_cars,
    "Food101": build_food101,
    "SUN397": build_sun397,
    "Caltech101": build_caltech101,
    "UCF101": build_ucf101,
    "ImageNet": build_imagenet,
    "ImageNetV2": build_imagenetv2,
    "ImageNetSketch": build_imagenet_sketch,
    "ImageNetA": build_imagenet_a,
    "ImageNetR": build_imagenet_r,
}


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------
def load_dataset(lay: MiniLayout, shots=-1, seed=1, subsample="all"):
    """Build the dataset as train.py does: config from the dataset yaml, Python's random seeded first."""
    import datasets  # noqa: F401  (registers the datasets)
    from dassl.config import get_cfg_default
    from dassl.data.datasets import DATASET_REGISTRY

    from fvgpt.config import extend_cfg

    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.merge_from_file(str(REPO / "configs" / "datasets" / lay.config))
    cfg.DATASET.ROOT = str(lay.root)
    cfg.DATASET.NUM_SHOTS = shots
    cfg.DATASET.SUBSAMPLE_CLASSES = subsample
    cfg.SEED = seed
    random.seed(seed)
    return DATASET_REGISTRY.get(cfg.DATASET.NAME)(cfg)


def triples(items, root):
    """(path relative to ``root``, label, classname) of Datum objects, comparable across roots."""
    return [(os.path.relpath(d.impath, root), d.label, d.classname) for d in items or []]
