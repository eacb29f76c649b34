"""The reference self-test procedure, and export -> selftest -> check end to end."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from golden_support import MARGIN, flip_bits, make_hasher

from nhkit.runtime.cli import main
from nhkit.runtime.golden import load_golden
from nhkit.runtime.report import load_report, write_report
from nhkit.runtime.selftest import host_platform, run_case, runtime_info


@pytest.fixture(scope="module")
def images(golden_materials):
    return golden_materials.images


class _Backend:
    """A backend returning fixed output (or raising), to exercise per-case errors."""

    name = "fake"

    def __init__(self, out=None, exc=None):
        self.out, self.exc = out, exc

    def embed(self, batch):
        if self.exc:
            raise self.exc
        return np.tile(self.out, (batch.shape[0], 1))

    def describe(self):
        return {
            "name": "fake",
            "version": 3,
            "compute_unit": "cpu",
            "threads": None,
            "delegate": ["x"],
        }


def test_run_case_matches_the_hasher_stage_by_stage(tiny_model, images):
    hasher = make_hasher(tiny_model)
    hasher.with_digests = True
    for p in images:
        case = run_case(
            p.stem,
            p.read_bytes(),
            spec=hasher.spec,
            backend=hasher.backend,
            seed=hasher.seed,
            name=p.name,
        )
        ref = hasher.hash_file(p)
        assert case.ok and case.hash == ref.hex and case.digests == ref.digests
        assert case.projections.tobytes() == ref.projections.tobytes()
        assert list(case.timings_ms) == ["decode", "resize", "normalise", "model", "project"]
        assert all(t >= 0 for t in case.timings_ms.values())
        assert case.orientation == (6 if p.suffix == ".jpg" else 1)


def test_case_failures_become_errors_not_exceptions(tiny_model, images):
    hasher = make_hasher(tiny_model)
    data = images[0].read_bytes()
    bad = run_case(
        "broken",
        data[:80],
        spec=hasher.spec,
        backend=hasher.backend,
        seed=hasher.seed,
        name="broken.png",
    )
    assert not bad.ok and bad.error.startswith("broken.png: corrupt or truncated image data")
    assert bad.hash is None and bad.timings_ms == {}
    nan = run_case(
        "nan", data, spec=hasher.spec, backend=_Backend(np.full(128, np.nan)), seed=hasher.seed
    )
    assert "not finite" in nan.error
    boom = run_case(
        "boom",
        data,
        spec=hasher.spec,
        backend=_Backend(exc=RuntimeError("delegate failed")),
        seed=hasher.seed,
    )
    assert boom.error == "RuntimeError: delegate failed"


def test_platform_and_runtime_fields_fit_the_schema():
    p = host_platform()
    assert {"os", "os_version", "device_model"} <= set(p)
    r = runtime_info(_Backend(np.zeros(128)))
    assert r == {
        "name": "fake",
        "version": "3",
        "compute_unit": "cpu",
        "threads": 0,
        "delegate": "['x']",
    }


# ----- end to end: nhkit export -> nhkit selftest -> nhkit golden check ----------------------


@pytest.fixture(scope="module")
def bundle(tiny_model, images, tmp_path_factory):
    pytest.importorskip("tensorflow")
    from nhkit.export.exporter import ExportOptions, run_export

    out = tmp_path_factory.mktemp("bundles")
    val = tmp_path_factory.mktemp("val")
    for p in images[:3]:
        shutil.copy(p, val / p.name)
    model, seed = tiny_model
    run_export(
        ExportOptions(
            out=out,
            model=model,
            seed=seed,
            name="tiny",
            targets="tflite",
            variants=["fp16"],
            validation=val,
            validation_limit=3,
            fragile_margin=MARGIN,
            threads=1,
            validation_views=("full",),
        ),
        log=lambda m: None,
    )
    return out / "tiny.tflite-fp16", out / "tiny.tflite-fp16.zip"


def test_export_selftest_check_end_to_end(bundle, tiny_model, tmp_path, capsys):
    folder, zipped = bundle
    report = tmp_path / "report.json"
    assert main(["selftest", "--bundle", str(zipped), "-o", str(report)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith(f"{report}: 6 cases + 19 decode cases, 0 errors")

    r = load_report(report)
    manifest = json.loads((folder / "manifest.json").read_text())
    cases_doc = json.loads((folder / "selftest" / "cases.json").read_text())
    cases, decode_cases = cases_doc["cases"], cases_doc["decode_cases"]
    assert r.bridge["name"] == "nhkit-python" and r.runtime["name"] == "litert"
    assert r.bundle.bundle_id == "tiny.tflite-fp16" and r.bundle.checksums_verified
    assert r.bundle.target == "tflite"
    assert r.bundle.source_model_fingerprint == manifest["source_model"]["fingerprint"]
    assert [c.id for c in r.cases] == [c["id"] for c in cases]
    for got, want in zip(r.cases, cases):
        assert got.digests.to_json() == {
            k: want["digests"][k] for k in ("decoded", "resized", "tensor")
        }
        assert got.orientation == want["orientation"]
    assert r.decode_cases is not None
    assert [d.id for d in r.decode_cases] == [d["id"] for d in decode_cases]
    for got_d, want_d in zip(r.decode_cases, decode_cases):
        assert (got_d.decoded, got_d.orientation, got_d.width, got_d.height) == (
            want_d["decoded"],
            want_d["orientation"],
            want_d["width"],
            want_d["height"],
        )

    junit = tmp_path / "junit.xml"
    assert (
        main(["golden", "check", str(report), "--bundle", str(folder), "--junit-xml", str(junit)])
        == 0
    )
    out = capsys.readouterr().out
    assert "project: 6/6 exact (seed x embedding recomputed)" in out
    assert "from bundle tiny.tflite-fp16 manifest" in out
    assert "decode modes (mode sampler): 19/19 exact" in out
    assert out.splitlines()[-1] == "25 passed, 0 failed"
    assert ET.parse(junit).getroot().get("failures") == "0"

    # golden file from the reference model on the bundle's own self-test images
    model, seed = tiny_model
    golden = tmp_path / "golden.json"
    sources = sorted(str(folder / "selftest" / c["source"]) for c in cases)
    assert (
        main(
            [
                "golden",
                "create",
                *sources,
                "--model",
                str(model),
                "--seed",
                str(seed),
                "--margin",
                str(MARGIN),
                "-o",
                str(golden),
            ]
        )
        == 0
    )
    g = load_golden(golden)
    assert g.model.fingerprint == manifest["source_model"]["fingerprint"]
    assert [im.hash for im in g.images] == [c["expected"]["hash"] for c in cases]
    capsys.readouterr()
    assert main(["golden", "check", str(report), "--golden", str(golden)]) == 0
    out = capsys.readouterr().out
    assert "19 decode case(s) in the report not judged" in out
    assert out.splitlines()[-1] == "6 passed, 0 failed"

    # a device whose model flips a bit far from zero fails at the model stage
    from nhkit.runtime.bundle import load_bundle

    with load_bundle(folder) as b:
        seed_matrix = np.array(b.seed)
    ref = g.by_id["s01-png"]
    far = int(np.argmax(ref.margins))
    r.cases[0] = flip_bits(r.cases[0], seed_matrix, [far])
    bad = tmp_path / "bad.json"
    write_report(r, bad)
    assert main(["golden", "check", str(bad), "--bundle", str(zipped)]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("s01-png"))
    assert "FAIL" in row and "model" in row and f"{far}({ref.margins[far]:.3g})*" in row
    assert out.splitlines()[-1] == "24 passed, 1 failed"

    # a device that rounds 16-bit samples instead of taking the high byte, and one that lost
    # a decode case: each fails naming the mode; an unknown decode id is an input error
    from dataclasses import replace

    i16 = next(i for i, d in enumerate(decode_cases) if d["mode"] == "I;16")
    r2 = load_report(report)
    assert r2.decode_cases is not None
    r2.decode_cases[i16] = replace(r2.decode_cases[i16], decoded="0" * 64)
    del r2.decode_cases[-1]
    write_report(r2, bad)
    assert main(["golden", "check", str(bad), "--bundle", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"mode I;16 ({decode_cases[i16]['description']}): decoded digest 000000000000" in out
    assert "mode RGB, EXIF orientation 8" in out and "did not run it" in out
    assert out.splitlines()[-1] == "23 passed, 2 failed"
    r2.decode_cases.append(replace(r2.decode_cases[0], id="d99-nope"))
    write_report(r2, bad)
    assert main(["golden", "check", str(bad), "--bundle", str(folder)]) == 2
    assert "unknown id 'd99-nope'" in capsys.readouterr().err


def test_report_for_another_bundle_or_build_is_an_error(bundle, tmp_path, capsys):
    folder, zipped = bundle
    report = tmp_path / "report.json"
    assert main(["selftest", "--bundle", str(folder), "-o", str(report)]) == 0
    obj = json.loads(report.read_text())
    obj["bundle"]["bundle_id"] = "tiny.coreml-fp16"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(obj))
    capsys.readouterr()
    assert main(["golden", "check", str(other), "--bundle", str(folder)]) == 2
    assert (
        "bundle.bundle_id: the report is for bundle 'tiny.coreml-fp16', not "
        "'tiny.tflite-fp16'" in capsys.readouterr().err
    )
    obj["bundle"]["bundle_id"] = "tiny.tflite-fp16"
    obj["bundle"]["manifest_sha256"] = "0" * 64
    other.write_text(json.dumps(obj))
    assert main(["golden", "check", str(other), "--bundle", str(zipped)]) == 2
    assert "another build of this bundle" in capsys.readouterr().err


def test_selftest_refuses_wrong_backend_and_tampered_bundle(bundle, tmp_path, capsys):
    folder, _ = bundle
    assert (
        main(
            [
                "selftest",
                "--bundle",
                str(folder),
                "--backend",
                "coreml",
                "-o",
                str(tmp_path / "r.json"),
            ]
        )
        == 2
    )
    assert "holds a tflite model; --backend coreml cannot run it" in capsys.readouterr().err
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    src = copy / "selftest" / "s01-png.png"
    src.write_bytes(src.read_bytes()[:-10])
    assert main(["selftest", "--bundle", str(copy), "-o", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "selftest/s01-png.png" in err and not (tmp_path / "r.json").exists()


def test_golden_create_and_calibrate_from_bundle(bundle, images, tmp_path, capsys):
    folder, zipped = bundle
    golden = tmp_path / "g.json"
    assert (
        main(["golden", "create", *map(str, images), "--bundle", str(zipped), "-o", str(golden)])
        == 0
    )
    g = load_golden(golden)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert g.model.bundle_id == "tiny.tflite-fp16" and g.model.backend["name"] == "litert"
    assert g.tolerance.hamming == manifest["tolerance"]["hamming"]
    assert g.spec.fragile_margin == MARGIN
    assert main(["golden", "calibrate", str(golden), "--bundle", str(folder)]) == 0
    assert "export verification max" in capsys.readouterr().out
    (rule,) = load_golden(golden).rules
    assert (rule.target, rule.compute_unit, rule.bundle_id) == ("tflite", "*", "tiny.tflite-fp16")
    assert rule.hamming == manifest["drift"]["hamming"]["max"] + 1
