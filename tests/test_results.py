"""The results parser on hand-written logs: our format, the reference repositories' format, missing runs."""
import csv
import io
import os
import statistics
import subprocess
import sys

import pytest

from conftest import REPO
from fvgpt.results import base2new_report, fewshot_report, harmonic_mean, read_log, read_run, xd_report
from fvgpt.results.render import csv_text, markdown


def write_log(run_dir, accuracy=None, kind="train", marker="Finish training", name="log.txt", val=(), epochs=2):
    """A log like Dassl's: arguments, epochs with validation results, the end marker and the final test."""
    os.makedirs(run_dir, exist_ok=True)
    lines = ["** Arguments **", f"eval_only: {kind == 'eval'}", "seed: 1"]
    if kind == "train":
        for epoch in range(epochs):
            lines.append(f"epoch [{epoch + 1}/{epochs}] batch [1/1] time 0.1 loss 1.0 acc 50.0 lr 1e-3")
            for v in val:
                lines += ["Evaluate on the *val* set", "=> result", "* total: 10", f"* accuracy: {v}%"]
        if marker:
            lines += [marker, "Deploy the last-epoch model"]
    if accuracy is not None:
        lines += ["Evaluate on the *test* set", "=> result", "* total: 1,000", "* correct: 812",
                  f"* accuracy: {accuracy}%", f"* error: {100 - accuracy:.1f}%", "* macro_f1: 80.0%"]
    with open(os.path.join(run_dir, name), "w") as f:
        f.write("\n".join(lines) + "\n")


def b2n_dir(root, split, dataset, trainer, seed, cfg="cfg", shots="shots_16"):
    return os.path.join(root, split, dataset, shots, trainer, cfg, f"seed{seed}")


# ---------------------------------------------------------------------------------------------- logs
def test_training_log_result_is_the_final_test_after_the_marker(tmp_path):
    write_log(tmp_path / "a", 81.3, val=[99.0])
    summary = read_log(str(tmp_path / "a" / "log.txt"))
    assert (summary.kind, summary.finished, summary.accuracy) == ("train", True, 81.3)


def test_reference_logs_kgcoop_marker_and_coop_test_log(tmp_path):
    write_log(tmp_path / "kg", 75.25, marker="Finished training")  # KgCoOp's Dassl
    assert read_run(str(tmp_path / "kg")).accuracy == 75.25
    os.makedirs(tmp_path / "ref")  # a reference eval-only log without our argument block
    (tmp_path / "ref" / "log.txt").write_text(
        "Loading trainer: CoOp\nLoading evaluator: Classification\nEvaluate on the *test* set\n=> result\n"
        "* total: 2,465\n* correct: 1,800\n* accuracy: 73.0%\n* error: 27.0%\n* macro_f1: 71.9%\n")
    assert read_run(str(tmp_path / "ref")).accuracy == 73.0


def test_unfinished_training_has_no_result_even_with_validation_accuracies(tmp_path):
    run = tmp_path / "run"
    write_log(run, marker=None, val=[55.0])
    os.makedirs(run / "prompt_learner")
    (run / "prompt_learner" / "model.pth.tar-1").write_bytes(b"")
    result = read_run(str(run))
    assert result.status == "unfinished" and result.accuracy is None
    assert "epoch 1" in result.describe()
    write_log(tmp_path / "crashed", marker=None, epochs=0)  # died before the first epoch
    assert read_run(str(tmp_path / "crashed")).status == "unfinished"


def test_resumed_run_reads_the_newest_log_with_a_result(tmp_path):
    run = tmp_path / "run"
    write_log(run, marker=None)  # interrupted
    write_log(run, 64.2, name="log.txt-2025-01-02-03-04-05")  # resumed and finished
    result = read_run(str(run))
    assert result.accuracy == 64.2 and result.log.endswith("log.txt-2025-01-02-03-04-05")


def test_missing_and_empty_folders(tmp_path):
    assert read_run(str(tmp_path / "nope")).status == "missing"
    os.makedirs(tmp_path / "empty")
    assert read_run(str(tmp_path / "empty")).status == "no-log"
    write_log(tmp_path / "notest", marker="Finish training")  # TEST.NO_TEST
    assert read_run(str(tmp_path / "notest")).status == "no-result"


# ---------------------------------------------------------------------------------------- base2new
BASE = {("A", "dtd"): [80.0, 82.0, 84.0], ("A", "eurosat"): [90.0, 91.0, 95.0],
        ("B", "dtd"): [70.0, 71.0, 72.0], ("B", "eurosat"): [60.0, 62.0, 64.0]}
NEW = {("A", "dtd"): [50.0, 55.0, 57.0], ("A", "eurosat"): [70.0, 72.0, None],  # seed 3 missing
       ("B", "dtd"): [65.0, 66.0, 70.0], ("B", "eurosat"): [75.0, 74.0, 73.0]}


@pytest.fixture
def b2n_root(tmp_path):
    root = str(tmp_path / "base2new")
    for (trainer, ds), values in BASE.items():
        marker = "Finished training" if trainer == "B" else "Finish training"  # B: reference-format logs
        for seed, acc in enumerate(values, 1):
            write_log(b2n_dir(root, "train_base", ds, trainer, seed), acc, marker=marker)
    for (trainer, ds), values in NEW.items():
        for seed, acc in enumerate(values, 1):
            if acc is not None:
                write_log(b2n_dir(root, "test_new", ds, trainer, seed), acc, kind="eval")
    for split, acc in (("test_base", 69.0), ("test_new", 74.0)):  # zero-shot: evaluations only, one seed
        write_log(b2n_dir(root, split, "dtd", "ZeroshotCLIP", 1, cfg="vit_b16", shots="shots_0"), acc, kind="eval")
    return root


def test_base2new_means_std_and_hm_of_the_means(b2n_root):
    report = base2new_report(b2n_root)
    assert [v.trainer for v in report.variants] == ["ZeroshotCLIP", "A", "B"]
    assert report.columns == ["dtd", "eurosat"]
    b = next(v for v in report.variants if v.trainer == "B")
    base, new, hm = (report.stat("dtd", b, m) for m in ("base", "new", "HM"))
    assert base.mean == pytest.approx(71.0) and base.std == pytest.approx(statistics.pstdev([70, 71, 72]))
    assert new.mean == pytest.approx(67.0)
    assert hm.mean == pytest.approx(2 * 71.0 * 67.0 / 138.0)  # HM of the means, not the mean of the HMs
    assert hm.std == pytest.approx(statistics.pstdev([harmonic_mean(x, y) for x, y in zip([70, 71, 72], [65, 66, 70])]))
    assert base.complete and new.complete and hm.complete
    avg = report.averages[b]
    assert avg["base"].mean == pytest.approx((71.0 + 62.0) / 2)
    assert avg["new"].mean == pytest.approx((67.0 + 74.0) / 2)
    assert avg["HM"].mean == pytest.approx(harmonic_mean(66.5, 70.5))
    per_seed_base = [(70 + 60) / 2, (71 + 62) / 2, (72 + 64) / 2]
    assert avg["base"].std == pytest.approx(statistics.pstdev(per_seed_base))


def test_a_missing_seed_is_listed_and_marks_what_it_touches(b2n_root):
    report = base2new_report(b2n_root)
    a = next(v for v in report.variants if v.trainer == "A")
    new = report.stat("eurosat", a, "new")
    assert new.n == 2 and not new.complete and new.mean == pytest.approx(71.0)
    assert not report.stat("eurosat", a, "HM").complete
    assert report.stat("dtd", a, "HM").complete
    assert not report.averages[a]["new"].complete and not report.averages[a]["HM"].complete
    assert report.averages[a]["base"].complete
    assert [(p.variant.trainer, p.column, p.part, p.seed, p.run.status) for p in report.problems
            if p.variant.trainer != "ZeroshotCLIP"] == [("A", "eurosat", "new", 3, "missing")]
    text = markdown(report)
    assert "71.00 ± 1.00*" in text
    assert "- A, eurosat, new, seed 3: no run folder" in text


def test_zero_shot_base_comes_from_test_base_and_its_seeds_are_its_own(b2n_root):
    report = base2new_report(b2n_root, seeds=[1, 2, 3])
    zs = report.variants[0]
    assert report.seeds[zs] == [1]  # deterministic: never "missing" seeds 2 and 3
    assert report.stat("dtd", zs, "base").mean == 69.0 and report.stat("dtd", zs, "new").mean == 74.0
    # zero-shot has no eurosat runs: listed, and its average is marked
    assert ("ZeroshotCLIP", "eurosat") in {(p.variant.trainer, p.column) for p in report.problems}
    assert not report.averages[zs]["base"].complete


def test_expected_seeds_and_datasets_and_trainer_selection(b2n_root):
    report = base2new_report(b2n_root, trainers=["B", "A"], datasets=["dtd", "eurosat", "ucf101"], seeds=[1, 2, 3, 4])
    assert [v.trainer for v in report.variants] == ["B", "A"]
    missing = {(p.variant.trainer, p.column, p.part, p.seed) for p in report.problems}
    assert ("B", "ucf101", "base", 1) in missing and ("B", "dtd", "new", 4) in missing
    assert report.averages[report.variants[0]]["base"].n == 2  # averaged over the 2 datasets it has ...
    assert not report.averages[report.variants[0]]["base"].complete  # ... and marked


def test_csv_has_every_metric_and_the_averages(b2n_root):
    rows = list(csv.DictReader(io.StringIO(csv_text(base2new_report(b2n_root, trainers=["B"])))))
    assert len(rows) == (2 + 1) * 3
    hm = next(r for r in rows if r["dataset"] == "dtd" and r["metric"] == "HM")
    assert float(hm["mean"]) == pytest.approx(2 * 71.0 * 67.0 / 138.0, abs=1e-4)
    avg = next(r for r in rows if r["dataset"] == "average" and r["metric"] == "base")
    assert (avg["n"], avg["complete"], avg["expected_seeds"]) == ("2", "True", "1 2 3")


# -------------------------------------------------------------------------------- xd and few-shot
def test_xd_source_from_training_targets_averaged(tmp_path):
    root = str(tmp_path / "xd")
    for seed, acc in ((1, 71.0), (2, 72.0)):
        write_log(os.path.join(root, "train", "imagenet", "shots_16", "CoOp", "c", f"seed{seed}"), acc)
        for target, delta in (("caltech101", 20.0), ("dtd", -30.0), ("imagenetv2", -7.0)):
            write_log(os.path.join(root, "test", target, "shots_16", "CoOp", "c", f"seed{seed}"), acc + delta,
                      kind="eval")
    write_log(os.path.join(root, "test", "imagenet", "shots_0", "ZeroshotCLIP", "vit_b16", "seed1"), 66.7, kind="eval")
    xd = xd_report(root, trainers=["CoOp", "ZeroshotCLIP"])
    coop, zs = xd.variants
    assert xd.columns == ["imagenet", "caltech101", "dtd"]  # the ImageNet variants belong to DG
    assert xd.stat("imagenet", coop, "accuracy").mean == pytest.approx(71.5)
    assert xd.averages[coop]["accuracy"].mean == pytest.approx((91.5 + 41.5) / 2)
    assert xd.stat("imagenet", zs, "accuracy").mean == 66.7  # zero-shot: from test/imagenet
    assert {(p.variant.trainer, p.column) for p in xd.problems} == {("ZeroshotCLIP", "caltech101"),
                                                                    ("ZeroshotCLIP", "dtd")}
    dg = xd_report(root, kind="dg")
    assert dg.columns == ["imagenet", "imagenetv2"]
    assert "| CoOp " in markdown(dg) and "imagenet (source)" in markdown(dg)


def test_fewshot_columns_are_shot_counts_with_zero_shot_at_0(tmp_path):
    root = str(tmp_path / "fewshot")
    for k, acc in ((1, 40.0), (16, 70.0)):
        write_log(os.path.join(root, "dtd", f"shots_{k}", "CoOp", "c", "seed1"), acc)
    write_log(os.path.join(root, "dtd", "shots_0", "ZeroshotCLIP", "vit_b16", "seed1"), 44.0, kind="eval")
    report = fewshot_report(root, shot_counts=[1, 2, 16])
    assert report.metrics == ("0", "1", "2", "16")
    coop = next(v for v in report.variants if v.trainer == "CoOp")
    assert report.stat("dtd", coop, "16").mean == 70.0
    assert [(p.column, p.part) for p in report.problems] == [("dtd", "2")]
    assert "### dtd" in markdown(report)


# -------------------------------------------------------------------------------------------- CLI
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "fvgpt.results", *args], cwd=REPO, capture_output=True, text=True)


def test_cli_prints_markdown_writes_csv_and_png_and_strict_fails_on_missing(b2n_root, tmp_path):
    png, out_csv = tmp_path / "b2n.png", tmp_path / "b2n.csv"
    res = _cli("base2new", b2n_root, "--png", str(png), "--csv", str(out_csv), "--strict")
    assert res.returncode == 1, res.stderr  # the missing seed
    assert "| dataset " in res.stdout and "Missing or unfinished runs (3):" in res.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out_csv.read_text().startswith("protocol,dataset,method")
    ok = _cli("base2new", b2n_root, "--trainers", "B", "--strict")
    assert ok.returncode == 0 and "All expected runs have a result." in ok.stdout
    typo = _cli("base2new", b2n_root, "--trainers", "B", "KgCoop", "--strict")
    assert typo.returncode == 1 and "No runs found for: KgCoop" in typo.stdout
    assert _cli("base2new", str(tmp_path / "nothing")).returncode == 2


def test_cli_seeds_summary_like_parse_test_res(b2n_root):
    res = _cli("seeds", os.path.dirname(b2n_dir(b2n_root, "train_base", "dtd", "B", 1)))
    assert res.returncode == 0
    assert "* accuracy: 71.00% +- 0.82% (3 of 3 runs)" in res.stdout
