"""`nhkit export` end to end on a small model: verified, deterministic bundles; budgets enforced;
bad input fails cleanly with nothing written; the bundle reader catches tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from nh_models import make_seed

from nhkit.export import testmodels as tm
from nhkit.export import variants as V
from nhkit.runtime.errors import NhkitError
from nhkit.runtime.seed import seed_to_f32_bytes

pytest.importorskip("tensorflow")

from nhkit.export import exporter as E  # noqa: E402
from nhkit.runtime.bundle import BundleError, load_bundle  # noqa: E402

PHOTOS = Path(__file__).resolve().parents[2] / "export" / "data" / "validation"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    onnx.save(tm.tiny_onnx(seed=4), str(d / "tiny.onnx"))
    (d / "tiny.f32").write_bytes(seed_to_f32_bytes(make_seed(3)))
    return {"model": d / "tiny.onnx", "seed": d / "tiny.f32", "dir": d}


def _opts(inputs: dict[str, Path], out: Path, **kw) -> E.ExportOptions:
    base = dict(
        out=out,
        model=inputs["model"],
        seed=inputs["seed"],
        targets="tflite",
        variants=["fp32", "int8-io"],
        validation_limit=4,
        calibration_limit=4,
        threads=2,
        fragile_margin=0.05,
    )
    base.update(kw)
    return E.ExportOptions(**base)


# The tiny random model is no quantization target: calibrated on 4 photos its full-int8 variant
# drifts about 2.4 bits, over the real budget, which is for trained models (test_variants.py).
# The module's export runs with a looser int8-io budget, so what it tests is the pipeline.
TINY_INT8_BUDGET = V.DriftBudget(4.0, max=8, p99=8)


def _export_tiny(opts: E.ExportOptions) -> E.ExportResult:
    """run_export with the tiny model's int8-io budget (TINY_INT8_BUDGET)."""
    loose = dataclasses.replace(V.get_variant("tflite", "int8-io"), budget=TINY_INT8_BUDGET)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(V.VARIANTS, ("tflite", "int8-io"), loose)
        mp.setattr(V, "_ALL", tuple(loose if v.key == loose.key else v for v in V._ALL))
        return E.run_export(opts, log=lambda m: None)


@pytest.fixture(scope="module")
def exported(inputs, tmp_path_factory) -> tuple[E.ExportResult, Path]:
    out = tmp_path_factory.mktemp("out")
    return _export_tiny(_opts(inputs, out)), out


def test_output_layout(exported) -> None:
    result, out = exported
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "tiny.report",
        "tiny.tflite-fp32",
        "tiny.tflite-fp32.zip",
        "tiny.tflite-int8-io",
        "tiny.tflite-int8-io.zip",
    ]
    report = (out / "tiny.report" / "report.md").read_text()
    assert "| tiny.tflite-fp32 | PASS |" in report and "| tiny.tflite-int8-io |" in report
    assert (out / "tiny.report" / "hist-tiny.tflite-int8-io.png").read_bytes()[:4] == b"\x89PNG"
    assert [o.bundle_id for o in result.outcomes] == ["tiny.tflite-fp32", "tiny.tflite-int8-io"]


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_bundles_verify_and_describe_the_model(exported, inputs, suffix: str) -> None:
    _, out = exported
    with load_bundle(out / f"tiny.tflite-int8-io{suffix}") as b:
        m = b.manifest
        assert m["bundle_id"] == "tiny.tflite-int8-io" and m["target"] == "tflite"
        assert m["spec"]["fragile_margin"] == 0.05
        assert (
            m["source_model"]["sha256"] == hashlib.sha256(inputs["model"].read_bytes()).hexdigest()
        )
        inp = m["model"]["inputs"][0]
        assert (
            inp["dtype"] == "int8"
            and inp["layout"] == "NHWC"
            and len(inp["quantization"]["lut"]) == 256
        )
        assert m["drift"]["images"] == 8 and m["drift"]["photos"] == 4
        tol, d = m["tolerance"], m["drift"]
        assert tol["hamming"] == max(d["hamming"]["max"], d["selftest"]["hamming_max"]) + 1
        assert tol["lossy_hamming"] == tol["hamming"] + 4 and d["selftest"]["cases"] == 6
        assert b.seed.tobytes() == make_seed(3).astype("<f4").tobytes()
        assert not b.over_budget
        # The bundle's own model through the backend the reader hands out.
        emb = b.backend(threads=1).embed(np.zeros((1, 3, 360, 360), np.float32))
        assert emb.shape == (1, 128) and np.isfinite(emb).all()


def test_selftest_cases_are_the_reference_pipeline(exported, inputs) -> None:
    from nhkit.runtime.backends.onnx import OnnxBackend
    from nhkit.runtime.floathex import hex_to_f32, hex_to_f64
    from nhkit.runtime.hasher import Hasher
    from nhkit.runtime.spec import Spec

    _, out = exported
    b = load_bundle(out / "tiny.tflite-fp32")
    cases = b.cases["cases"]
    assert [c["id"] for c in cases] == [
        "s01-png",
        "s02-png-tall",
        "s03-png-grey",
        "s04-png-360",
        "s05-jpg-exif6",
        "s06-png-wide-gamut",
    ]
    assert [c["lossless"] for c in cases] == [True, True, True, True, False, True]
    assert cases[4]["orientation"] == 6 and cases[0]["orientation"] == 1
    hasher = Hasher(
        OnnxBackend(inputs["model"]), make_seed(3), Spec(fragile_margin=0.05), with_digests=True
    )
    for c in cases:
        r = hasher.hash_file(b.case_path(c))
        assert r.hex == c["expected"]["hash"]
        assert r.digests and r.digests.to_json() == c["digests"]
        assert np.array_equal(hex_to_f32(c["expected"]["embedding"]), r.embedding)
        assert np.array_equal(hex_to_f64(c["expected"]["projections"]), r.projections)
        assert hasher.prepare(b.case_path(c)).rgb360.tobytes() == b.rgb360(c).tobytes()
    # Identical cases in every bundle of the export (only bundle_id differs).
    other = load_bundle(out / "tiny.tflite-int8-io").cases
    assert other["cases"] == b.cases["cases"] and other["bundle_id"] != b.cases["bundle_id"]


def test_zip_is_deterministic_and_well_formed(exported, inputs, tmp_path: Path) -> None:
    _, out = exported
    _export_tiny(_opts(inputs, tmp_path, variants=["int8-io"]))
    a = (out / "tiny.tflite-int8-io.zip").read_bytes()
    assert a == (tmp_path / "tiny.tflite-int8-io.zip").read_bytes()
    with zipfile.ZipFile(out / "tiny.tflite-int8-io.zip") as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names) and all(n.startswith("tiny.tflite-int8-io/") for n in names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        kinds = {i.filename.split("/", 1)[1]: i.compress_type for i in infos}
        assert kinds["model.tflite"] == zipfile.ZIP_STORED
        assert kinds["manifest.json"] == zipfile.ZIP_DEFLATED


def _copy(exported, tmp_path: Path, name: str = "tiny.tflite-fp32") -> Path:
    _, out = exported
    dst = tmp_path / name
    shutil.copytree(out / name, dst)
    return dst


def test_reader_detects_changed_missing_and_extra_files(exported, tmp_path: Path) -> None:
    b = _copy(exported, tmp_path)
    data = bytearray((b / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 1
    (b / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.tflite: sha256 does not match"):
        load_bundle(b)
    b2 = _copy(exported, tmp_path / "2")
    (b2 / "selftest" / "s02-png-tall.png").unlink()
    (b2 / "notes.txt").write_text("hi")
    with pytest.raises(BundleError) as ei:
        load_bundle(b2)
    assert "s02-png-tall.png: missing" in str(ei.value)
    assert "notes.txt: file is not listed" in str(ei.value)
    b3 = _copy(exported, tmp_path / "3")
    (b3 / "seed.f32").write_bytes((b3 / "seed.f32").read_bytes()[:-4])
    with pytest.raises(BundleError, match="seed.f32: size"):
        load_bundle(b3)


def test_reader_reports_schema_problems_by_field(exported, tmp_path: Path) -> None:
    b = _copy(exported, tmp_path)
    m = json.loads((b / "manifest.json").read_text())
    m["drift"]["hamming"]["max"] = 200
    del m["tolerance"]
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(NhkitError) as ei:
        load_bundle(b)
    assert "drift.hamming.max" in str(ei.value) and "tolerance" in str(ei.value)
    (b / "manifest.json").write_text('{"format": "nhkit-bundle", "format_version": 2}')
    with pytest.raises(NhkitError, match="format_version: 2 is not supported"):
        load_bundle(b)


def test_reader_checks_zip_top_folder(exported, tmp_path: Path) -> None:
    _, out = exported
    src = zipfile.ZipFile(out / "tiny.tflite-fp32.zip")
    bad = tmp_path / "renamed.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for info in src.infolist():
            zf.writestr(
                info.filename.replace("tiny.tflite-fp32/", "other/"), src.read(info.filename)
            )
    with pytest.raises(BundleError, match="top folder 'other' is not the bundle id"):
        load_bundle(bad)
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(BundleError):
        load_bundle(tmp_path / "junk.zip")


def test_manifest_records_calibration_and_validation_sources(exported) -> None:
    """Which photos set the int8 ranges and which measured the drift, by content (issue 12)."""
    import hashlib

    _, out = exported
    cal_dir = PHOTOS.parent / "calibration"
    with load_bundle(out / "tiny.tflite-int8-io") as b:
        d = b.manifest["drift"]
    val_digests = sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(PHOTOS.glob("*.jpg"))[:4]
    )
    assert d["validation"] == {
        "folder": "validation",
        "photos": 4,
        "views": ["full", "mirror"],
        "sha256_list": hashlib.sha256("".join(x + "\n" for x in val_digests).encode()).hexdigest(),
    }
    cal = d["calibration"]
    assert (
        cal["folder"] == "calibration" and cal["photos"] == 4 and cal["views"] == ["full", "mirror"]
    )
    assert (
        cal["shared_with_validation"] == 0 and cal["sha256_list"] != d["validation"]["sha256_list"]
    )
    cal_digests = sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(cal_dir.glob("*.jpg"))[:4]
    )
    assert (
        cal["sha256_list"]
        == hashlib.sha256("".join(x + "\n" for x in cal_digests).encode()).hexdigest()
    )
    assert d["hamming"]["p95"] <= d["hamming"]["p99"] <= d["hamming"]["max"]
    assert d["budget"] == TINY_INT8_BUDGET.to_json()
    with load_bundle(out / "tiny.tflite-fp32") as b:  # not calibrated: no calibration set
        assert b.manifest["drift"]["calibration"] is None
        assert b.manifest["drift"]["validation"] == d["validation"]


@pytest.mark.parametrize("copy", [False, True])
def test_calibrating_on_the_validation_photos_is_refused(
    inputs, tmp_path: Path, copy: bool
) -> None:
    """Same folder, or the same photos under other names elsewhere: refused before any work."""
    cal = PHOTOS
    if copy:
        cal = tmp_path / "cal"
        cal.mkdir()
        for i, p in enumerate(sorted(PHOTOS.glob("*.jpg"))[:4][::-1]):
            shutil.copy(p, cal / f"renamed-{i}.jpg")
    out = tmp_path / "out"
    lines: list[str] = []
    with pytest.raises(E.ExportError, match=r"share 4 of 4 validation photo\(s\)") as ei:
        E.run_export(_opts(inputs, out, calibration=cal, validation=PHOTOS), log=lines.append)
    assert "--validation" in str(ei.value) and not out.exists() and lines == []


def _impossible(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the variant under test flip every bit: its embeddings are negated before the drift
    is measured, so the real budget check (fp32: 0 bits) must fail."""
    real = E.measure_drift

    def negated(reference, embeddings, *args, **kwargs):
        return real(reference, -np.asarray(embeddings), *args, **kwargs)

    monkeypatch.setattr(E, "measure_drift", negated)


def test_over_budget_fails_with_nothing_written(inputs, tmp_path: Path, monkeypatch) -> None:
    _impossible(monkeypatch)
    lines: list[str] = []
    with pytest.raises(E.ExportError) as ei:
        E.run_export(_opts(inputs, tmp_path, variants=["fp32"]), log=lines.append)
    assert (
        "tiny.tflite-fp32: mean Hamming 96.000 > 0; p99 Hamming 96 > 0; max Hamming 96 > 0"
        in str(ei.value)
    )
    assert "nothing was written" in str(ei.value) and "--allow-over-budget" in str(ei.value)
    assert any(line.strip().startswith("FAIL tiny.tflite-fp32") for line in lines)
    assert list(tmp_path.iterdir()) == []  # an existing output folder is kept, but empty


def test_over_budget_override_marks_the_bundle(inputs, tmp_path: Path, monkeypatch) -> None:
    _impossible(monkeypatch)
    E.run_export(
        _opts(inputs, tmp_path, variants=["fp32"], allow_over_budget=True), log=lambda m: None
    )
    with load_bundle(tmp_path / "tiny.tflite-fp32.zip") as b:
        assert b.over_budget
        assert b.manifest["drift"]["passed"] is False
        assert b.manifest["drift"]["overridden"] is True


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    from nhkit.runtime.cli import main

    code = main(["export", *argv])
    return code, capsys.readouterr().err


def test_bad_inputs_fail_cleanly(inputs, tmp_path: Path, capsys) -> None:
    model, seed = str(inputs["model"]), str(inputs["seed"])
    out = tmp_path / "out"
    d = tmp_path / "in"
    d.mkdir()
    (d / "junk.onnx").write_bytes(b"\x08\x07garbage" * 50)
    bad_shape = tm.tiny_onnx()
    bad_shape.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 224
    onnx.save(bad_shape, str(d / "shape.onnx"))
    onnx.save(
        tm.tiny_onnx(extra_nodes=[onnx.helper.make_node("Tanh", ["x"], ["t"], name="act_tanh")]),
        str(d / "tanh.onnx"),
    )
    (d / "short.f32").write_bytes(b"\0" * 100)
    (d / "empty").mkdir()
    (d / "badcal").mkdir()
    (d / "badcal" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (d / "file.txt").write_text("x")
    cases = [
        (["--model", str(d / "nope.onnx"), "--seed", seed], "nope.onnx: model file does not"),
        (["--model", str(d / "junk.onnx"), "--seed", seed], "junk.onnx: not a valid ONNX"),
        (["--model", str(d / "shape.onnx"), "--seed", seed], "expected float32 [N or 1,3,360,360]"),
        (["--model", str(d / "tanh.onnx"), "--seed", seed], "['Tanh']"),
        (["--model", model], "needs its seed file"),
        (["--model", model, "--seed", str(d / "short.f32")], "seed file has 100 bytes"),
        (["--model", model, "--seed", seed, "--variants", "int4"], "unknown variant 'int4'"),
        (["--model", model, "--seed", seed, "--target", "onnx"], "unknown target"),
        (
            [
                "--model",
                model,
                "--seed",
                seed,
                "--target",
                "tflite",
                "--calibration",
                str(d / "empty"),
            ],
            "calibration folder holds no images",
        ),
        (
            [
                "--model",
                model,
                "--seed",
                seed,
                "--target",
                "tflite",
                "--variants",
                "int8",
                "--calibration",
                str(d / "badcal"),
            ],
            "broken.jpg: unreadable calibration image",
        ),
        (
            ["--model", model, "--seed", seed, "--validation", str(d / "missing")],
            "validation folder does not exist",
        ),
    ]
    for argv, expect in cases:
        code, err = _cli([*argv, "-o", str(out)], capsys)
        assert code == 2, argv
        assert expect in err, (argv, err)
        # One clear message (last line), no traceback.
        assert "Traceback" not in err and expect in err.strip().splitlines()[-1], err
        assert not out.exists(), argv  # not even an empty output folder is left behind
    code, err = _cli(["--model", model, "--seed", seed, "-o", str(d / "file.txt" / "sub")], capsys)
    assert code == 2 and "cannot create output folder" in err


def test_seed_mismatch_with_model_metadata(inputs, tmp_path: Path, capsys) -> None:
    d = tmp_path / "m"
    d.mkdir()
    shutil.copy(inputs["model"], d / "model.onnx")
    other = hashlib.sha256(seed_to_f32_bytes(make_seed(99))).hexdigest()
    (d / "model.json").write_text(json.dumps({"name": "x", "seed_sha256": other}))
    code, err = _cli(
        [
            "--model",
            str(d / "model.onnx"),
            "--seed",
            str(inputs["seed"]),
            "-o",
            str(tmp_path / "out"),
        ],
        capsys,
    )
    assert code == 2 and "seed mismatch" in err
    assert not (tmp_path / "out").exists()


def test_coreml_bundle_end_to_end(inputs, tmp_path: Path) -> None:
    pytest.importorskip("coremltools")
    result = E.run_export(
        _opts(inputs, tmp_path, targets="coreml", variants=["fp32"], validation_limit=2),
        log=lambda m: None,
    )
    assert result.outcomes[0].drift.passed
    with load_bundle(tmp_path / "tiny.coreml-fp32.zip") as b:
        assert b.manifest["model"]["file"] == "model.mlpackage"
        assert b.manifest["runtime"] == {"name": "coreml", "min_version": "iOS16"}
        assert b.manifest["model"]["inputs"][0]["layout"] == "NCHW"
        assert any(f["path"].startswith("model.mlpackage/") for f in b.manifest["files"])
        emb = b.backend().embed(np.zeros((1, 3, 360, 360), np.float32))
        assert emb.shape == (1, 128)


@pytest.mark.parametrize("name", ["tiny.tflite-fp32", "tiny.tflite-int8-io.zip"])
def test_bundle_self_test_passes_here(exported, tmp_path: Path, name: str, capsys) -> None:
    """The tolerance covers the variant's own cases on the exporting machine, so nhkit's own
    device-side procedure (`nhkit selftest` + `golden check --bundle`) passes."""
    from nhkit.runtime.cli import main

    _, out = exported
    report = tmp_path / "report.json"
    assert main(["selftest", "--bundle", str(out / name), "-o", str(report)]) == 0
    assert main(["golden", "check", "--bundle", str(out / name), str(report)]) == 0
    assert "25 passed, 0 failed" in capsys.readouterr().out


def test_parallel_core_ml_worker_gives_identical_bundles(inputs, tmp_path: Path) -> None:
    pytest.importorskip("coremltools")
    names = ["tflite-fp32", "coreml-fp16", "coreml-pal6"]
    for mode, parallel in (("par", True), ("ser", False)):
        E.run_export(
            _opts(
                inputs,
                tmp_path / mode,
                targets=None,
                variants=names,
                validation_limit=2,
                parallel=parallel,
                # the random tiny model is no palettization target (pal6 drifts about its
                # budget); what this test compares is the bytes of both paths
                allow_over_budget=True,
            ),
            log=lambda m: None,
        )
    zips = sorted(p.name for p in (tmp_path / "par").glob("*.zip"))
    assert zips == ["tiny.coreml-fp16.zip", "tiny.coreml-pal6.zip", "tiny.tflite-fp32.zip"]
    for z in zips:
        assert (tmp_path / "par" / z).read_bytes() == (tmp_path / "ser" / z).read_bytes(), z


def test_core_ml_worker_failure_is_reported(tmp_path: Path) -> None:
    from nhkit.export.variants import get_variant

    build = tmp_path / "build"
    build.mkdir()
    from nhkit.export.coreml_worker import CoremlWorker

    v = get_variant("coreml", "fp32")
    worker = CoremlWorker(
        build,
        tmp_path / "missing.onnx",
        "tiny",
        True,
        [v],
        np.zeros((1, 3, 360, 360), np.float32),
        np.zeros((1, 3, 360, 360), np.float32),
    )
    try:
        with pytest.raises(E.ExportError, match="worker process exited with code 1") as ei:
            worker.result(v, "tiny.coreml-fp32")
        assert "missing.onnx" in str(ei.value)
    finally:
        worker.stop()


def test_bundle_hasher_identity_is_the_manifests(exported, inputs) -> None:
    """Hasher.identity of a bundle: the manifest's source model, with the seed checked."""
    from nhkit.runtime.bundle_backend import hasher_for_bundle
    from nhkit.runtime.digest import onnx_fingerprint, seed_sha256
    from nhkit.runtime.errors import ModelError
    from nhkit.runtime.hasher import Hasher

    _, out = exported
    h = hasher_for_bundle(out / "tiny.tflite-fp32.zip")
    assert h.bundle is not None
    try:
        ident = h.identity
        assert ident.name == "tiny" == h.bundle.manifest["source_model"]["name"]
        assert ident.fingerprint == onnx_fingerprint(inputs["model"])
        assert ident.seed_sha256 == seed_sha256(make_seed(3))
        other = Hasher(h.backend, make_seed(4), h.spec, bundle=h.bundle)
        with pytest.raises(ModelError, match="not the bundle's seed"):
            _ = other.identity
    finally:
        h.bundle.close()


def test_wide_gamut_case_is_hashed_from_its_stored_samples() -> None:
    """s06 carries a wide-gamut ICC profile that the spec ignores: the reference decode is the
    stored samples, and a colour-managing decoder (LittleCMS here, standing in for a device's)
    would change most of them, so the case's lossless digests catch it."""
    import io

    from PIL import Image, ImageCms

    from nhkit.export.bundle_writer import make_selftest_sources
    from nhkit.export.wide_gamut_icc import wide_gamut_icc
    from nhkit.runtime.decode import decode_image

    photos = [np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)]
    src = {s.case_id: s for s in make_selftest_sources(photos)}["s06-png-wide-gamut"]
    assert src.lossless
    im = Image.open(io.BytesIO(src.data))
    assert im.info["icc_profile"] == wide_gamut_icc()
    stored = np.asarray(im.convert("RGB"))
    assert np.array_equal(decode_image(src.data).rgb, stored)
    managed = ImageCms.profileToProfile(
        im, ImageCms.ImageCmsProfile(io.BytesIO(wide_gamut_icc())), ImageCms.createProfile("sRGB")
    )
    assert (np.asarray(managed) != stored).mean() > 0.3


@pytest.mark.parametrize(
    "name, field, bad",
    [
        ("tiny.tflite-fp32", "shape", [1, 3, 360, 360]),
        ("tiny.tflite-fp32", "dtype", "float16"),
        ("tiny.tflite-fp32", "layout", "NCHW"),
        ("tiny.tflite-int8-io", "scale", 0.5),
        ("tiny.tflite-int8-io", "lut", "shifted"),
    ],
)
def test_tflite_manifest_that_misdescribes_the_model_is_rejected(
    exported, tmp_path: Path, capsys, name: str, field: str, bad: object
) -> None:
    """A TFLite bundle whose manifest states another input than its model has (as a new user
    editing a manifest would) is refused before hashing, naming the field."""
    from nhkit.runtime.bundle_backend import hasher_for_bundle
    from nhkit.runtime.cli import main
    from nhkit.runtime.errors import ModelError

    b = _copy(exported, tmp_path, name)
    mpath = b / "manifest.json"
    manifest = json.loads(mpath.read_text())
    inp = manifest["model"]["inputs"][0]
    if field in ("scale", "lut"):
        q = inp["quantization"]
        q[field] = bad if field == "scale" else [max(-128, v - 1) for v in q["lut"]]
    else:
        inp[field] = bad
    mpath.write_text(json.dumps(manifest, indent=2))
    if field in ("shape", "layout"):
        # A shape that is not its layout's is wrong on its own: the manifest reader says so.
        with pytest.raises(BundleError, match=r"model\.inputs\[0\]\.shape: .* is not the"):
            hasher_for_bundle(b)
        expected = "model.inputs[0].shape"
    else:
        with pytest.raises(ModelError, match=f"does not match the TFLite model: .*{field}"):
            hasher_for_bundle(b)
        expected = "does not match the TFLite model"
    photo = sorted(PHOTOS.glob("*.jpg"))[0]
    assert main(["hash", "--bundle", str(b), str(photo)]) == 2
    assert expected in capsys.readouterr().err


READER_INDEX = Path(__file__).resolve().parents[1] / "vectors" / "readers" / "index.json"


def _model_cases() -> list[dict]:
    return json.loads(READER_INDEX.read_text())["model_cases"]


@pytest.fixture(scope="module")
def exported_coreml(inputs, tmp_path_factory) -> Path:
    pytest.importorskip("coremltools")
    out = tmp_path_factory.mktemp("out-coreml")
    E.run_export(_opts(inputs, out, targets="coreml", variants=["fp32"]), log=lambda m: None)
    return out


@pytest.mark.parametrize("case", _model_cases(), ids=lambda c: f"{c['bundle']}:{c['error']}")
def test_reader_vector_model_cases_are_refused(
    case: dict, exported, request, tmp_path: Path
) -> None:
    """tests/vectors/readers/index.json model_cases: a real bundle whose manifest (still valid on
    its own) disagrees with its model is refused when the model is opened, naming the field;
    `nhkit hash --bundle` refuses it too (Swift and Java run the same cases)."""
    from nhkit.runtime.bundle_backend import hasher_for_bundle
    from nhkit.runtime.cli import main
    from nhkit.runtime.errors import ModelError

    out = (
        request.getfixturevalue("exported_coreml")
        if case["bundle"].startswith("tiny.coreml")
        else exported[1]
    )
    b = tmp_path / case["bundle"]
    shutil.copytree(out / case["bundle"], b)
    manifest = json.loads((b / "manifest.json").read_text())
    for edit in case["set"]:
        *parents, last = edit["path"]
        node = manifest
        for key in parents:
            node = node[key]
        node[last] = edit["value"]
    (b / "manifest.json").write_text(json.dumps(manifest, indent=2))
    load_bundle(b).close()  # the manifest alone is valid: only the model can tell
    refused = r"does not match the (TFLite model|Core ML program)"
    with pytest.raises(ModelError, match=refused) as ei:
        hasher_for_bundle(b)
    assert case["error"] in str(ei.value)
    assert main(["hash", "--bundle", str(b), str(sorted(PHOTOS.glob("*.jpg"))[0])]) == 2


def test_a_shipped_model_exports_by_name(tmp_path: Path) -> None:
    """`nhkit export --model nhkit-mnv3s-v1` picks that shipped model and its own seed, so an
    older default stays exportable after the default moves on."""
    from nhkit.runtime.errors import ModelError
    from nhkit.runtime.models import installed_models, shipped_model

    for name in installed_models():
        source = E.resolve_source(E.ExportOptions(out=tmp_path / "o", model=Path(name)))
        shipped = shipped_model(name)
        assert (source.name, source.onnx) == (name, shipped.onnx)
        assert source.fragile_margin == shipped.fragile_margin
    with pytest.raises(ModelError, match="not installed"):
        E.resolve_source(E.ExportOptions(out=tmp_path / "o", model=Path("nhkit-nope")))
