"""scripts/check_masks.py: per dataset root, how many images have a mask, which are missing, sizes."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from datasets_minilayouts import BUILDERS, IMAGE_SIZE, load_dataset  # noqa: E402


@pytest.fixture(scope="module")
def datasets_check_masks():
    """The script as a module (its main() takes argv and returns the exit status)."""
    spec = importlib.util.spec_from_file_location("check_masks", REPO / "scripts" / "check_masks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_masks"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("check_masks", None)


def write_mask(path: Path, size=IMAGE_SIZE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, 255).save(path)


def mask_all(lay, mask_root: Path, skip=(), png=True, odd_size=()):
    for img in lay.images:
        if img in skip:
            continue
        rel = img.relative_to(lay.root)
        target = mask_root / (rel.with_suffix(".png") if png else rel)
        write_mask(target, (5, 5) if img in odd_size else IMAGE_SIZE)


def test_report_counts_missing_and_size_mismatches(tmp_path, capsys, datasets_check_masks):
    root = tmp_path / "DATA"
    pets, caltech, ina = (BUILDERS[n](root) for n in ("OxfordPets", "Caltech101", "ImageNetA"))
    mask_all(pets, root / "mask")
    caltech_used = [p for p in caltech.images if "BACKGROUND_Google" not in str(p) and "Faces_easy" not in str(p)]
    skipped = caltech_used[:7]
    mask_all(caltech, root / "mask", skip=skipped, png=False)
    mask_all(ina, root / "mask", odd_size=ina.images[:2])

    status = datasets_check_masks.main(["--root", str(root), "--show", "3"])
    out = capsys.readouterr().out
    assert status == 1
    blocks = {b.split("  (")[0]: b for b in out.strip().split("\n") if not b.startswith(" ")}
    assert set(blocks) == {"OxfordPets", "Caltech101", "ImageNetA"}  # only the datasets present
    assert f"images: {len(pets.images)}  with mask: {len(pets.images)} (100.0%)  missing: 0" in out
    n = len(caltech_used)
    assert f"images: {n}  with mask: {n - 7} ({100 * (n - 7) / n:.1f}%)  missing: 7" in out
    assert "missing masks (first 3 of 7):" in out
    listed = [p for p in skipped if f"{p} -> {root / 'mask' / p.relative_to(root)}" in out]
    assert len(listed) == 3
    assert "size mismatch: 2" in out and "(12x8) vs" in out and "(5x5)" in out


def test_one_dataset_in_the_authors_release_layout(tmp_path, capsys, datasets_check_masks):
    top = tmp_path / "release" / "caltech-101"  # <top>/caltech-101/ and <top>/mask/ side by side
    lay = BUILDERS["Caltech101"](top)
    mask_all(lay, top / "mask")
    assert datasets_check_masks.main(["--root", str(top), "--dataset", "Caltech101"]) == 0
    assert "missing: 0  size mismatch: 0  unreadable: 0" in capsys.readouterr().out


def test_mask_root_elsewhere_and_no_size_check(tmp_path, capsys, datasets_check_masks):
    lay = BUILDERS["EuroSAT"](tmp_path / "DATA")
    mask_all(lay, tmp_path / "masks", odd_size=lay.images)
    args = ["--root", str(lay.root), "--mask-root", str(tmp_path / "masks")]
    assert datasets_check_masks.main(args + ["--no-sizes"]) == 0
    assert datasets_check_masks.main(args) == 1
    assert datasets_check_masks.main(["--root", str(lay.root)]) == 1  # nothing under DATA/mask
    assert "with mask: 0 (0.0%)" in capsys.readouterr().out


def test_few_shot_run_checks_only_its_images(tmp_path, capsys, datasets_check_masks):
    lay = BUILDERS["ImageNet"](tmp_path / "DATA")
    ds = load_dataset(lay, shots=2, seed=1)
    for d in ds.train_x:
        write_mask(lay.root / "mask" / Path(d.impath).relative_to(lay.root))
    args = ["--root", str(lay.root), "--dataset", "ImageNet", "--num-shots", "2", "--seed", "1", "--splits", "train"]
    assert datasets_check_masks.main(args) == 0
    assert f"images: {len(ds.train_x)}  with mask: {len(ds.train_x)}" in capsys.readouterr().out
    assert datasets_check_masks.main(args[:4]) == 1  # all images: most have no mask


def test_no_dataset_found_and_unloadable_dataset(tmp_path, capsys, datasets_check_masks):
    assert datasets_check_masks.main(["--root", str(tmp_path)]) == 2
    assert "No dataset folder found" in capsys.readouterr().out
    lay = BUILDERS["OxfordPets"](tmp_path / "DATA")
    (lay.dataset_dir / "annotations" / "test.txt").unlink()
    assert datasets_check_masks.main(["--root", str(lay.root)]) == 2
    assert "could not be loaded" in capsys.readouterr().out
