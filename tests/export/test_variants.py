"""Variant table, drift measurement and image-set loading (no converters needed: fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nh_models import make_seed

from nhkit.export import variants as V
from nhkit.export import verify as Vf
from nhkit.runtime.hashing import project
from nhkit.runtime.spec import Spec

PHOTOS = Path(__file__).resolve().parents[2] / "export" / "data" / "validation"


def test_default_sets_and_name_resolution() -> None:
    both = V.resolve_variants(["coreml", "tflite"])
    assert [v.key for v in both] == [
        "tflite-fp32",
        "tflite-fp16",
        "tflite-dynamic-int8",
        "tflite-int8",
        "tflite-int8-io",
        "tflite-int16x8",
        "coreml-fp32",
        "coreml-fp16",
        "coreml-int8",
        "coreml-int8-b32",
        "coreml-pal6",
    ]
    assert [v.key for v in V.resolve_variants(["coreml"], ["pal4", "pal8"])] == [
        "coreml-pal8",
        "coreml-pal4",
    ]
    assert [v.key for v in V.resolve_variants(["tflite", "coreml"], ["fp16"])] == [
        "tflite-fp16",
        "coreml-fp16",
    ]
    assert [v.key for v in V.resolve_variants(["tflite"], ["int8", "tflite-fp32"])] == [
        "tflite-fp32",
        "tflite-int8",
    ]
    with pytest.raises(V.VariantError, match="unknown variant 'pal6'"):
        V.resolve_variants(["tflite"], ["pal6"])
    with pytest.raises(V.VariantError, match="not selected"):
        V.resolve_variants(["tflite"], ["coreml-pal6"])
    assert V.parse_targets("tflite, coreml") == ["coreml", "tflite"]
    with pytest.raises(V.VariantError, match="unknown target"):
        V.parse_targets("onnx")


def test_budgets_are_the_documented_table() -> None:
    """The budgets move only on purpose: each value is the issue 12 goal or, where the default
    model misses it, that model's documented figure (export/variants.py comments)."""
    b = {
        v.key: v.budget
        for v in V.resolve_variants(
            ["coreml", "tflite"], [f"{t}-{n}" for t in V.TARGETS for n in V.variant_names(t)]
        )
    }
    assert b["tflite-fp32"] == b["coreml-fp32"] == V.DriftBudget(0.0, 0, 0, 0)
    assert b["tflite-fp16"] == V.DriftBudget(0.05, max=1, p99=1, nonfragile=0)
    assert b["coreml-fp16"] == V.DriftBudget(0.1, max=1, p99=1, nonfragile=0)
    assert b["tflite-dynamic-int8"] == V.DriftBudget(0.3, max=3, p99=3, nonfragile=0)  # goal
    assert b["tflite-int8"] == V.DriftBudget(1.1, max=6, p99=4, nonfragile=1)  # p99, max: goals
    assert b["tflite-int8-io"] == V.DriftBudget(1.1, max=6, p99=4, nonfragile=1)
    assert b["tflite-int16x8"] == V.DriftBudget(0.8, max=6, p99=4, nonfragile=0)  # full int8 goals
    assert b["coreml-int8"] == V.DriftBudget(0.3, max=4, p99=3, nonfragile=0)  # goal
    assert b["coreml-int8-b32"] == V.DriftBudget(0.3, max=3, p99=2, nonfragile=0)  # goal + margin
    assert b["coreml-pal6"] == V.DriftBudget(1.0, max=4, p99=4, nonfragile=0)
    assert b["coreml-pal8"] == V.DriftBudget(1.0, max=4, p99=3, nonfragile=0)
    # Every default variant bounds its tail, not only its mean (issue 12), and its non-fragile
    # flips, the term a CPU's summation order cannot move: 0 for every variant but full int8,
    # which the default model meets on the evaluation photos but not on the 32 check images.
    for v in V.resolve_variants(["coreml", "tflite"]):
        assert v.budget.max is not None and v.budget.p99 is not None, v.key
        assert v.budget.nonfragile is not None, v.key
        assert (v.budget.nonfragile > 0) == (v.key in ("tflite-int8", "tflite-int8-io")), v.key


def test_budget_terms_are_each_checked() -> None:
    b = V.DriftBudget(1.0, max=6, p99=4)
    assert b.check(1.0, 6, 4) == []
    assert b.check(1.01, 6, 4) == ["mean Hamming 1.010 > 1"]
    assert b.check(0.5, 6, 5) == ["p99 Hamming 5 > 4"]
    assert b.check(0.5, 7, 4) == ["max Hamming 7 > 6"]
    assert b.check(2.0, 9, 8) == [
        "mean Hamming 2.000 > 1",
        "p99 Hamming 8 > 4",
        "max Hamming 9 > 6",
    ]
    assert V.DriftBudget(2.0).check(1.0, 40, 40) == []  # unbudgeted tail terms
    assert b.describe() == "mean<=1, p99<=4, max<=6" and V.DriftBudget(2.0).describe() == "mean<=2"
    assert b.to_json() == {"mean": 1.0, "p99": 4, "max": 6, "nonfragile_flips": None}
    strict = V.DriftBudget(1.0, max=6, p99=4, nonfragile=0)
    assert strict.check(0.1, 1, 1, 0) == [] and b.check(0.1, 1, 1, 5) == []
    assert strict.check(0.1, 1, 1, 1) == ["non-fragile flips 1 > 0"]
    assert strict.check(0.1, 1, 1) == []  # a caller without the count checks the other terms
    assert strict.describe() == "mean<=1, p99<=4, max<=6, non-fragile<=0"
    assert strict.to_json()["nonfragile_flips"] == 0


def test_p99_is_nearest_rank_and_fails_the_budget() -> None:
    """A variant with a good mean but a heavy tail fails on p99, and the reason says so."""
    seed = make_seed(2)
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((100, 128)).astype(np.float32)
    var = ref.copy()
    var[:2] = -var[:2]  # two photos of a hundred flip every bit
    d = Vf.measure_drift(ref, var, seed, Spec(), V.DriftBudget(2.0, max=None, p99=4))
    assert d.mean == pytest.approx(1.92) and d.p99 == 96 and d.p95 == 0
    assert d.reasons == ["p99 Hamming 96 > 4"] and d.to_json()["hamming"]["p99"] == 96
    one = Vf.measure_drift(
        ref,
        np.where(np.arange(100)[:, None] == 0, -ref, ref),
        seed,
        Spec(),
        V.DriftBudget(2.0, p99=4),
    )
    assert one.p99 == 0 and one.max == 96 and one.passed  # one in a hundred is not the p99
    assert Vf.nearest_rank(np.array([], dtype=int), 0.99) == 0


def test_photo_source_identifies_photos_by_content(tmp_path: Path) -> None:
    files = sorted(PHOTOS.glob("*.jpg"))[:3]
    a = Vf.photo_source(files, PHOTOS, ("full", "mirror"))
    assert a.photos == 3 and a.folder == "validation"
    assert a.to_json() == {
        "folder": "validation",
        "photos": 3,
        "views": ["full", "mirror"],
        "sha256_list": a.sha256_list,
    }
    import hashlib

    digests = sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)
    assert a.sha256_list == hashlib.sha256("".join(d + "\n" for d in digests).encode()).hexdigest()
    # A renamed copy is the same photo; a different photo is not.
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes(files[0].read_bytes())
    other = sorted(PHOTOS.glob("*.jpg"))[3]
    b = Vf.photo_source([copy, other], tmp_path, ("full",))
    assert b.folder == tmp_path.name and a.shared_with(b) == 1 and b.shared_with(a) == 1
    assert a.sha256_list != b.sha256_list
    assert Vf.photo_source(files[::-1], PHOTOS, ("full", "mirror")) == a  # order-free
    with pytest.raises(Vf.ImageSetError, match="cannot read image"):
        Vf.photo_source([tmp_path / "missing.jpg"], tmp_path, ("full",))


def test_variant_table_agrees_with_the_converters() -> None:
    from nhkit.export.coreml import COREML_VARIANT_INFO
    from nhkit.export.tflite import TFLITE_VARIANTS

    assert V.variant_names("tflite") == list(TFLITE_VARIANTS)
    assert V.variant_names("coreml") == list(COREML_VARIANT_INFO)
    for name, info in COREML_VARIANT_INFO.items():
        v = V.get_variant("coreml", name)
        assert (v.precision, v.compression) == (info.precision, info.compression)
    # exactly the variants the converter calibrates get calibration photos from the exporter
    calibrated = [n for n in V.variant_names("tflite") if V.get_variant("tflite", n).calibrated]
    assert not any(V.get_variant("coreml", n).calibrated for n in V.variant_names("coreml"))
    assert calibrated == ["int8", "int8-io", "int16x8"]
    assert all(V.get_variant("tflite", n).compression.endswith("-full") for n in calibrated)


def test_measure_drift_counts_bits_and_fragile_flips() -> None:
    seed = make_seed(2)
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((6, 128)).astype(np.float32)
    same = Vf.measure_drift(ref, ref.copy(), seed, Spec(), V.DriftBudget(0.0, 0))
    assert same.passed and same.max == 0 and same.bit_exact_rate == 1.0
    assert same.cosine_min == pytest.approx(1.0) and same.max_abs_error == 0.0
    var = ref.copy()
    var[0] = -var[0]  # image 0: every bit flips
    p = project(seed, ref[1])
    k = int(np.argmin(np.abs(p)))  # image 1: push the weakest projection over zero
    var[1] = var[1] - (p[k] * 1.001) * seed[k] / float(np.dot(seed[k], seed[k]))
    margin = float(np.abs(p[k])) * 2
    d = Vf.measure_drift(
        ref, var, seed, Spec(fragile_margin=margin), V.DriftBudget(0.2, 2), photos=3
    )
    assert d.hamming[0] == 96 and d.hamming[1] >= 1 and d.hamming[2:].sum() == 0
    assert d.fragile_flips >= 1 and d.nonfragile_flips + d.fragile_flips == d.hamming.sum()
    assert d.max == 96 and d.p95 == 96 and d.photos == 3
    assert not d.passed and d.reasons[0].startswith("mean Hamming")
    j = d.to_json()
    assert j["hamming"]["max"] == 96 and j["passed"] is False and j["images"] == 6
    assert d.nonfragile_per_image[0] == 96 - int((np.abs(project(seed, ref[0])) < margin).sum())
    assert Vf.recommended_tolerance(d) == {
        "hamming": 96,
        "lossy_hamming": 96,
        "nonfragile_flips": int(d.nonfragile_per_image[0]) + 1,
    }
    assert Vf.recommended_tolerance(same) == {
        "hamming": 1,
        "lossy_hamming": 5,
        "nonfragile_flips": 0,
    }
    # The bundle's own cases widen the tolerance when they drift more than the photos did.
    st = Vf.selftest_drift(project(seed, ref[:2]), var[:2], seed, Spec(fragile_margin=margin))
    assert st.cases == 2 and st.hamming_max == 96
    assert Vf.recommended_tolerance(same, st)["hamming"] == 96
    st0 = Vf.selftest_drift(project(seed, ref[2:4]), ref[2:4], seed, Spec())
    assert st0 == Vf.SelftestDrift(2, 0, 0)
    with pytest.raises(Exception, match="NaN"):
        Vf.measure_drift(ref, np.full_like(ref, np.nan), seed, Spec(), V.DriftBudget(1.0))


def test_image_sets(tmp_path: Path) -> None:
    s = Vf.load_image_folder(PHOTOS, Spec(), what="validation", views=("full", "mirror"), limit=2)
    assert s.rgb360.shape == (4, 360, 360, 3) and s.photos == 2 and len(s) == 4
    assert not np.array_equal(s.rgb360[0], s.rgb360[1])  # the mirror view is another input
    assert s.names[1].endswith("#mirror")
    assert s.nchw().shape == (4, 3, 360, 360) and s.nhwc().shape == (4, 360, 360, 3)
    with pytest.raises(Vf.ImageSetError, match="does not exist"):
        Vf.list_images(tmp_path / "nope", what="validation")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(Vf.ImageSetError, match="holds no images"):
        Vf.list_images(tmp_path, what="calibration")
    with pytest.raises(Vf.ImageSetError, match="not a folder"):
        Vf.list_images(tmp_path / "f.txt", what="calibration")


def test_shipped_default_image_sets_are_disjoint() -> None:
    """Calibration photos come from the train split, validation from held-out: no overlap."""
    cal = {p.name for p in Vf.list_images(Vf.default_image_dir("calibration"), what="c")}
    val = {p.name for p in Vf.list_images(Vf.default_image_dir("validation"), what="v")}
    assert len(cal) >= 8 and len(val) >= 8 and not (cal & val)


def test_cli_help_lists_the_options(capsys) -> None:
    from nhkit.runtime.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--help"])
    text = capsys.readouterr().out
    for opt in (
        "--model",
        "--seed",
        "--target",
        "--variants",
        "--calibration",
        "--validation",
        "--allow-over-budget",
        "-o",
    ):
        assert opt in text
