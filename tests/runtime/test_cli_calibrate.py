"""`nhkit match calibrate` (run here through `python -m nhkit.runtime.cli_calibrate`'s main):
report figures recomputed independently, the bundle drift term, list thresholds, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nhkit.runtime.calibration import BundleDrift, HashedSet, build_report
from nhkit.runtime.calibration_report import (
    apply_threshold,
    list_threshold,
    load_report,
    validate_report,
    write_report_folder,
)
from nhkit.runtime.cli_calibrate import main
from nhkit.runtime.digest import ModelIdentity
from nhkit.runtime.edits import edit_seed, get_edit
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.hasher import Hasher
from nhkit.runtime.jsonfile import schema_problems

PHOTOS = Path(__file__).resolve().parents[2] / "export" / "data" / "validation"
FP, SEED = "a" * 64, "b" * 64


@pytest.fixture(scope="module")
def negatives(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("negatives")
    for p in sorted(PHOTOS.glob("*.jpg")):
        shutil.copy(p, d / p.name)
    assert len(list(d.iterdir())) >= 16
    return d


def run(tiny_model, *extra: str) -> int:
    model, seed = tiny_model
    return main(["--model", str(model), "--seed", str(seed), "--no-progress", *extra])


def test_report_figures_match_an_independent_recomputation(negatives, tmp_path, capsys):
    # The shipped model: the tiny test model is too weak to keep 16 photos apart.
    out = tmp_path / "report"
    assert (
        main(
            [
                "--negatives",
                str(negatives),
                "--edits",
                "default",
                "-o",
                str(out),
                "--fpr",
                "1e-2,1e-4",
                "--no-progress",
            ]
        )
        == 0
    )
    report, _ = load_report(out)  # schema-checked
    hasher = Hasher.from_onnx()
    files = sorted(negatives.iterdir())
    bits = np.stack([hasher.hash_file(f).bits for f in files])
    d = [
        int(np.count_nonzero(bits[i] != bits[j]))
        for i in range(len(files))
        for j in range(i + 1, len(files))
    ]
    neg = report["negatives"]
    assert neg["images"] == len(files) and neg["pairs"] == len(d)
    assert neg["distances"]["histogram"] == np.bincount(d, minlength=97).tolist()
    assert neg["distances"]["min"] == min(d) and report["thresholds"][0]["threshold"] == min(d) - 1
    assert [c["criterion"] for c in report["thresholds"]] == ["zero-fp", "fpr<=0.01", "fpr<=0.0001"]
    assert not report["thresholds"][2]["resolvable"]  # 1e-4 < 1/120 pairs
    # TPR of one edit, recomputed with the edit suite and the plain hasher.
    t = report["recommended"]["threshold"]
    jpeg = get_edit("jpeg_q50")
    hits = []
    for f, b in zip(files, bits):
        im = Image.open(f).convert("RGB")
        edited = hasher.hash_rgb(np.asarray(jpeg.apply(im, edit_seed(f.name)))).bits
        hits.append(np.count_nonzero(edited != b) <= t)
    row = next(e for e in report["positives"]["edits"] if e["name"] == "jpeg_q50")
    assert row["tpr"]["zero-fp"] == pytest.approx(np.mean(hits))
    assert (
        next(e for e in report["positives"]["edits"] if e["name"] == "hflip")["group"] == "mirror"
    )
    # threshold.json is the list manifest's object, pinned to report.json's bytes.
    thr = json.loads((out / "threshold.json").read_text())
    assert schema_problems(thr, "calibration-threshold.v1.schema.json") == []
    assert thr["report_sha256"] == hashlib.sha256((out / "report.json").read_bytes()).hexdigest()
    assert thr["recommended"] == t and thr["negative_pairs"] == len(d) and thr["fpr"] == 0.0
    assert "Recommended threshold" in (out / "report.md").read_text()
    try:
        import matplotlib  # noqa: F401

        assert (out / "distances.png").stat().st_size > 0 and (out / "tpr.png").is_file()
    except ImportError:
        assert "skipped: matplotlib is not installed" in (out / "report.md").read_text()
    assert f"zero-fp: T = {t}" in capsys.readouterr().out


def test_distinct_images_sharing_a_hash_leave_no_threshold(tiny_model, negatives, tmp_path, capsys):
    # The tiny model hashes two of these photos alike: no threshold has zero false positives,
    # so the report says so, writes no threshold.json and the exit status is 3.
    out = tmp_path / "r"
    assert run(tiny_model, "--negatives", str(negatives), "-o", str(out), "--no-plots") == 3
    report, _ = load_report(out)
    assert report["negatives"]["distances"]["min"] == 0 and report["threshold"] is None
    assert not (out / "threshold.json").exists()
    assert "distinct images share a hash" in capsys.readouterr().err


def test_bad_negatives_folders_are_clear_errors(tiny_model, negatives, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(next(negatives.iterdir()), one / "a.jpg")
    cases = [
        (empty, "holds 0 image(s)"),
        (one, "holds 1 image(s)"),
        (tmp_path / "missing", "--negatives: no such folder"),
        (one / "a.jpg", "--negatives: not a folder"),
    ]
    for folder, msg in cases:
        assert run(tiny_model, "--negatives", str(folder), "-o", str(tmp_path / "r")) == 2
        err = capsys.readouterr().err
        assert msg in err and str(folder) in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_unreadable_images_are_reported_and_skipped(negatives, tmp_path, capsys):
    neg = tmp_path / "neg"
    shutil.copytree(negatives, neg)
    (neg / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "r"
    assert main(["--negatives", str(neg), "-o", str(out), "--no-plots", "--no-progress"]) == 1
    report, _ = load_report(out)
    assert report["negatives"]["images"] == len(list(negatives.iterdir()))
    [skipped] = report["negatives"]["skipped"]
    assert skipped["path"].endswith("broken.jpg") and skipped["reason"]
    assert "skipped" in capsys.readouterr().err


def test_bad_bundles_and_flags_are_clear_errors(tiny_model, negatives, tmp_path, capsys):
    out = tmp_path / "r"
    fake = tmp_path / "fake-bundle"
    fake.mkdir()
    (fake / "manifest.json").write_text("{}")
    for extra, msg in [
        (["--bundle", str(tmp_path / "nope")], "bundle not found"),
        (["--bundle", str(fake)], "format"),
        (["--measure-drift"], "--measure-drift needs at least one --bundle"),
        (["--edits", "nope"], "unknown edit suite 'nope'"),
        (["--fpr", "2"], "--fpr: 2 must be a rate"),
    ]:
        assert run(tiny_model, "--negatives", str(negatives), "-o", str(out), *extra) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err
    assert not out.exists()
    # A folder that is not a report is never replaced.
    keep = tmp_path / "photos"
    keep.mkdir()
    (keep / "cat.jpg").write_bytes(b"x")
    assert run(tiny_model, "--negatives", str(negatives), "-o", str(keep), "--no-plots") == 2
    assert "is not a calibration report" in capsys.readouterr().err
    assert [p.name for p in keep.iterdir()] == ["cat.jpg"]


# ----- the bundle drift term, on synthetic hashes ----------------------------------------------


def synthetic(n: int = 40, seed: int = 5) -> HashedSet:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n, 96), dtype=np.uint8)
    hs = HashedSet(
        ids=[f"img{i:02d}.jpg" for i in range(n)], paths=[f"/x/img{i:02d}.jpg" for i in range(n)]
    )
    hs.bits = {i: bits[i] for i in range(n)}
    edited = bits.copy()
    edited[:, :3] ^= 1  # every edited copy 3 bits away
    hs.edit_bits = {"jpeg_q50": {i: edited[i] for i in range(n)}}
    return hs


def manifest(max_drift: int = 4) -> dict:
    return {
        "bundle_id": "m.tflite-int8",
        "target": "tflite",
        "variant": {"name": "int8"},
        "drift": {
            "hamming": {"mean": 1.5, "p95": 3, "max": max_drift},
            "images": 32,
            "photos": 16,
            "passed": True,
        },
    }


def flipped(hs: HashedSet, flips: list[int]) -> dict[int, np.ndarray]:
    dev = {}
    for i, k in enumerate(flips):
        b = hs.bits[i].copy()
        b[:k] ^= 1
        dev[i] = b
    return dev


def report_for(hs: HashedSet, bundles: list[BundleDrift], forced: bool = False) -> dict:
    r = build_report(
        model=ModelIdentity("m", FP, SEED),
        spec={"id": "nh-spec-v1"},
        negatives=hs,
        negatives_folder="/x",
        fprs=[1e-3],
        target_fpr=0.0,
        edits=[get_edit("jpeg_q50")],
        positives_source="edits: test",
        bundles=bundles,
        command="test",
        forced=forced,
    )
    validate_report(r, "synthetic report")
    return r


def test_measured_drift_gives_p99_cross_pairs_and_the_margin_used():
    hs = synthetic()
    flips = [0] * 30 + [1] * 8 + [2, 5]  # p99 of 40 drifts: the 40th value (ceil(39.6))
    r = report_for(hs, [BundleDrift("b", manifest(), device_bits=flipped(hs, flips))])
    b = r["bundles"][0]
    assert b["drift_p99"] == 5 and b["drift_p99_source"] == "measured"
    assert b["measured"]["drift"]["histogram"][:6] == [30, 8, 1, 0, 0, 1]
    srv = np.stack([hs.bits[i] for i in range(40)])
    dev = np.stack([flipped(hs, flips)[i] for i in range(40)])
    cross = [
        int(np.count_nonzero(dev[i] != srv[j])) for i in range(40) for j in range(40) if i != j
    ]
    assert b["cross"]["pairs"] == 40 * 39 and b["cross"]["distances"]["min"] == min(cross)
    rec = r["recommended"]
    t_server = r["thresholds"][0]["threshold"]
    assert rec["threshold"] == min(t_server, min(cross) - 1)
    assert rec["drift_p99"] == 5 and rec["margin_used"] == pytest.approx(
        5 / rec["threshold"], abs=1e-4
    )
    assert not rec["conflict"] and r["threshold"]["drift_p99"] == 5
    row = r["positives"]["edits"][0]
    assert row["tpr"]["zero-fp"] == 1.0  # 3 bits, far below any threshold here
    assert row["tpr_after_drift"]["zero-fp"] == (1.0 if rec["threshold"] - 5 >= 3 else 0.0)


def test_drift_above_the_fpr_threshold_is_a_loud_conflict(tmp_path):
    hs = synthetic()
    big = flipped(hs, [40] * 40)  # a device that moves every hash by 40 bits
    r = report_for(hs, [BundleDrift("b", manifest(), device_bits=big)])
    rec = r["recommended"]
    assert rec["conflict"] and "CONFLICT" in rec["problems"][0] and r["threshold"] is None
    summary = write_report_folder(r, tmp_path / "r", plots=False)
    assert summary["threshold"] is None and not (tmp_path / "r" / "threshold.json").exists()
    assert "WARNING" in (tmp_path / "r" / "report.md").read_text()
    with pytest.raises(NhkitError, match="recommends no threshold"):
        list_threshold(tmp_path / "r")
    forced = report_for(hs, [BundleDrift("b", manifest(), device_bits=big)], forced=True)
    assert (
        forced["recommended"]["forced"]
        and forced["threshold"]["recommended"] == forced["recommended"]["threshold"]
    )


def test_manifest_drift_bounds_p99_by_max_without_measuring():
    hs = synthetic()
    r = report_for(hs, [BundleDrift("b", manifest(max_drift=7))])
    b = r["bundles"][0]
    assert b["drift_p99"] == 7 and "manifest max" in b["drift_p99_source"]
    assert b["measured"] is None and b["cross"] is None
    assert b["cross_min_bound"] == max(0, r["negatives"]["distances"]["min"] - 7)
    assert b["variant"] == "int8" and r["recommended"]["cross_pairs"] == 0


def test_apply_threshold_puts_the_report_into_a_list(tmp_path):
    r = report_for(synthetic(), [])
    summary = write_report_folder(r, tmp_path / "rep", plots=False)
    from nhkit.runtime.digest import ModelIdentity
    from nhkit.runtime.hashlist import Entry, load, write_hashlist
    from nhkit.runtime.spec import Spec

    lst = tmp_path / "list"
    write_hashlist(
        lst,
        [Entry("a", "0" * 24), Entry("b", "f" * 24)],
        spec=Spec(),
        model=ModelIdentity(name="m", fingerprint=FP, seed_sha256=SEED),
    )
    thr = apply_threshold(tmp_path / "rep", lst)
    assert (
        thr == summary["threshold"] == json.loads((tmp_path / "rep" / "threshold.json").read_text())
    )
    assert load(lst).threshold == load(f"{lst}.zip").threshold == thr
    assert schema_problems(thr, "calibration-threshold.v1.schema.json") == []
    other = tmp_path / "other"
    write_hashlist(
        other,
        [Entry("a", "0" * 24)],
        spec=Spec(),
        model=ModelIdentity(name="m", fingerprint="c" * 64, seed_sha256=SEED),
    )
    with pytest.raises(NhkitError, match=f"{FP}.*{'c' * 64}"):
        apply_threshold(tmp_path / "rep", other)
    # A report edited after the fact no longer validates or no longer matches its sha.
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    data["recommended"]["threshold"] = "high"
    (tmp_path / "rep" / "report.json").write_text(json.dumps(data))
    with pytest.raises(NhkitError, match="recommended.threshold"):
        list_threshold(tmp_path / "rep")


# ----- end to end with a real (tiny) TFLite bundle ---------------------------------------------


def test_measured_drift_of_a_real_bundle(tiny_model, negatives, tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("ai_edge_litert")
    from nhkit.export.exporter import ExportOptions, run_export
    from nhkit.runtime.bundle_backend import hasher_for_bundle

    val = tmp_path / "val"
    val.mkdir()
    for p in sorted(negatives.iterdir())[:3]:
        shutil.copy(p, val / p.name)
    model, seed = tiny_model
    run_export(
        ExportOptions(
            out=tmp_path / "b",
            model=model,
            seed=seed,
            name="tiny",
            targets="tflite",
            variants=["int8"],
            validation=val,
            validation_limit=3,
            threads=1,
            validation_views=("full",),
            allow_over_budget=True,
        ),
        log=lambda m: None,
    )
    bundle = tmp_path / "b" / "tiny.tflite-int8"
    out = tmp_path / "r"
    rc = run(
        tiny_model,
        "--negatives",
        str(negatives),
        "-o",
        str(out),
        "--no-plots",
        "--bundle",
        str(bundle),
        "--measure-drift",
        "--force",
    )
    report, _ = load_report(out)
    assert rc == 0
    b = report["bundles"][0]
    files = sorted(negatives.iterdir())
    server = Hasher.from_onnx(*tiny_model)
    device = hasher_for_bundle(bundle)
    drift = [
        int(np.count_nonzero(server.hash_file(f).bits != device.hash_file(f).bits)) for f in files
    ]
    assert b["measured"]["images"] == len(files)
    assert b["measured"]["drift"]["histogram"] == np.bincount(drift, minlength=97).tolist()
    assert b["drift_p99"] == max(drift)  # 16 images: p99 is the largest
    assert b["cross"]["pairs"] == len(files) * (len(files) - 1)


def test_positives_folder_pairs_edited_copies_by_name(negatives, tmp_path, capsys):
    files = sorted(negatives.iterdir())
    pos = tmp_path / "pos"
    (pos / "shrunk").mkdir(parents=True)
    for f in files[:3]:  # PNG copies at half size, paired by name whatever the extension
        im = Image.open(f).convert("RGB")
        im.resize((im.width // 2, im.height // 2)).save(pos / "shrunk" / f"{f.stem}.png")
    Image.new("RGB", (40, 40)).save(pos / "shrunk" / "stranger.png")
    out = tmp_path / "r"
    assert (
        main(
            [
                "--negatives",
                str(negatives),
                "--positives",
                str(pos),
                "-o",
                str(out),
                "--no-plots",
                "--no-progress",
            ]
        )
        == 1
    )  # the stranger is reported and skipped
    assert "stranger.png: no image of the same name in --negatives" in capsys.readouterr().err
    report, _ = load_report(out)
    [row] = report["positives"]["edits"]
    hasher = Hasher.from_onnx()
    d = [
        int(
            np.count_nonzero(
                hasher.hash_file(f).bits != hasher.hash_file(pos / "shrunk" / f"{f.stem}.png").bits
            )
        )
        for f in files[:3]
    ]
    assert row["name"] == "shrunk" and row["pairs"] == 3 and row["group"] == "everyday"
    assert row["distances"]["histogram"] == np.bincount(d, minlength=97).tolist()
    assert report["positives"]["source"] == f"folder: {pos}"


def test_small_sets_carry_a_caveat_everywhere_the_threshold_is_shown(tmp_path):
    """A zero-FP threshold from a few hundred pairs is optimistic: the report, its Markdown and
    the command say so (without blocking), and a set large enough to see the tail does not."""
    from nhkit.runtime.calibration import MIN_TAIL_PAIRS, small_set_caveats

    assert small_set_caveats(MIN_TAIL_PAIRS, 250) == []
    caveat = small_set_caveats(MIN_TAIL_PAIRS - 1, 245)[0]
    assert "only 29999 distinct pairs of 245 images" in caveat
    r = report_for(synthetic(), [])
    assert r["recommended"]["caveats"] and not r["recommended"]["conflict"]
    assert r["recommended"]["threshold"] is not None
    assert schema_problems(r, "calibration-report.v1.schema.json") == []
    write_report_folder(r, tmp_path / "rep", plots=False)
    assert "**CAVEAT**" in (tmp_path / "rep" / "report.md").read_text()
