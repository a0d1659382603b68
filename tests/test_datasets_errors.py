"""Bad input: every message says what was looked for and where the layout is described."""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import datasets  # noqa: E402,F401
from dassl.config import get_cfg_default  # noqa: E402
from dassl.data.datasets import DATASET_REGISTRY  # noqa: E402
from datasets_minilayouts import BUILDERS, load_dataset  # noqa: E402

from fvgpt.config import extend_cfg  # noqa: E402
from fvgpt.data.coop_layout import DatasetLayoutError, Item, split_classwise, split_trainval  # noqa: E402

DOCS = (REPO / "docs" / "DATASETS.md").read_text()


def github_anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("name", list(BUILDERS))
def test_a_missing_dataset_folder_names_it_and_its_docs_section(tmp_path, name):
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.DATASET.ROOT = str(tmp_path)
    cls = DATASET_REGISTRY.get(name)
    with pytest.raises(DatasetLayoutError) as err:
        cls(cfg)
    msg = str(err.value)
    assert f"'{cls.dataset_dir}'" in msg and str(tmp_path) in msg
    anchor = f"docs/DATASETS.md#{name.lower()}"
    assert anchor in msg
    headings = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", DOCS, flags=re.M)}
    assert name.lower() in headings, f"docs/DATASETS.md has no section '{name}' for {anchor}"


def test_an_empty_root_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = get_cfg_default()
    extend_cfg(cfg)
    with pytest.raises(DatasetLayoutError, match="DATASET.ROOT is empty"):
        DATASET_REGISTRY.get("OxfordPets")(cfg)


@pytest.mark.parametrize("name", ["OxfordPets", "Caltech101", "ImageNetA"])
def test_a_missing_image_folder_is_named(tmp_path, name):
    lay = BUILDERS[name](tmp_path / "DATA")
    shutil.rmtree(lay.image_dir)
    with pytest.raises(DatasetLayoutError, match=re.escape(f"image folder '{lay.image_dir.name}'")):
        load_dataset(lay)


@pytest.mark.parametrize("name, missing", [
    ("OxfordPets", "annotations/trainval.txt"),
    ("OxfordFlowers", "imagelabels.mat"),
    ("FGVCAircraft", "images_variant_val.txt"),
    ("StanfordCars", "devkit/cars_meta.mat"),
    ("SUN397", "ClassName.txt"),
    ("UCF101", "ucfTrainTestlist/classInd.txt"),
    ("ImageNet", "classnames.txt"),
    ("ImageNetR", "classnames.txt"),
])
def test_a_missing_annotation_file_is_named(tmp_path, name, missing):
    lay = BUILDERS[name](tmp_path / "DATA")
    (lay.dataset_dir / missing).unlink()
    with pytest.raises(DatasetLayoutError) as err:
        load_dataset(lay)
    assert missing in str(err.value) and f"docs/DATASETS.md#{name.lower()}" in str(err.value)
    if lay.split_file:
        assert lay.split_file in str(err.value)  # the split file would have made it unnecessary


def test_with_a_split_file_the_annotation_files_are_not_needed(tmp_path):
    lay = BUILDERS["OxfordPets"](tmp_path / "DATA")
    load_dataset(lay)
    shutil.rmtree(lay.dataset_dir / "annotations")
    assert load_dataset(lay).num_classes == 5


def test_a_split_file_with_missing_images_says_how_many_and_which(tmp_path):
    lay = BUILDERS["DescribableTextures"](tmp_path / "DATA")
    load_dataset(lay)
    gone = sorted(lay.image_dir.glob("b*/*.jpg"))[:7]
    for p in gone:
        p.unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_dataset(lay)
    msg = str(err.value)
    assert f"7 of {len(lay.images)} images" in msg
    assert lay.split_file in msg
    listed = [p for p in gone if str(p) in msg]
    assert len(listed) == 5 and "and 2 more" in msg


def test_a_malformed_split_file_is_reported(tmp_path):
    lay = BUILDERS["Food101"](tmp_path / "DATA")
    (lay.dataset_dir / lay.split_file).write_text(json.dumps({"train": [["a.jpg", 0, "x"]], "test": []}))
    with pytest.raises(ValueError, match="is not a split file"):
        load_dataset(lay)


def test_a_variant_folder_without_a_class_name_is_reported(tmp_path):
    lay = BUILDERS["ImageNetA"](tmp_path / "DATA")
    (lay.image_dir / "n99999999").mkdir()
    (lay.image_dir / "n99999999" / "x.jpg").write_bytes(b"x")
    with pytest.raises(DatasetLayoutError, match="n99999999 has no line in .*classnames.txt"):
        load_dataset(lay)


def test_imagenetv2_missing_class_folders_are_reported(tmp_path):
    lay = BUILDERS["ImageNetV2"](tmp_path / "DATA")
    shutil.rmtree(lay.image_dir / "3")
    with pytest.raises(DatasetLayoutError, match=r"1 of the 6 class folders 0..5 are missing .*first: 3"):
        load_dataset(lay)


def test_too_few_images_to_split_name_the_class():
    with pytest.raises(ValueError, match="'tiny' has 3 images"):
        split_classwise([(0, "tiny", ["a", "b", "c"])])
    with pytest.raises(ValueError, match="'rare'.*2 train\\+val images"):
        split_trainval([Item("a", 0, "rare"), Item("b", 0, "rare")])
