"""Spec steps 6-8 in the reference runtime."""

from __future__ import annotations

import numpy as np
import pytest
from nh_models import make_seed

from nhkit.runtime.errors import SeedFileError
from nhkit.runtime.floathex import f32_to_hex, f64_to_hex, hex_to_f32, hex_to_f64
from nhkit.runtime.hashing import (
    bits_from_projections,
    bits_to_hex,
    fragile_mask,
    hamming,
    hex_to_bits,
    project,
)
from nhkit.runtime.seed import load_seed, parse_seed, seed_to_dat_bytes, seed_to_f32_bytes


def test_projection_is_left_to_right_float64(rng: np.random.Generator) -> None:
    seed = make_seed()
    e = rng.standard_normal(128).astype(np.float32)
    p = project(seed, e)
    s64, e64 = seed.astype(np.float64), e.astype(np.float64)
    for i in (0, 17, 95):
        acc = 0.0
        for j in range(128):
            acc = acc + float(s64[i, j]) * float(e64[j])
        assert p[i] == acc  # bit-exact, not approx
    batch = project(seed, np.stack([e, -e]))
    assert np.array_equal(batch[0], p) and np.array_equal(batch[1], -p)


def test_sign_rule_and_hex_layout() -> None:
    p = np.zeros(96)
    p[1:] = -1.0
    p[95] = -0.0  # -0.0 >= 0 is true: bit 1
    bits = bits_from_projections(p)
    assert bits[0] == 1 and bits[95] == 1 and bits[1:95].sum() == 0
    assert bits_to_hex(bits) == "800000000000000000000001"
    assert np.array_equal(hex_to_bits("800000000000000000000001"), bits)
    with pytest.raises(ValueError):
        bits_from_projections(np.full(96, np.nan))


@pytest.mark.parametrize(
    "bad", ["", "0" * 23, "0" * 25, "0x" + "0" * 22, "g" * 24, " " + "0" * 23, "\u0660" * 24]
)
def test_hex_parsing_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        hex_to_bits(bad)


def test_hamming_and_fragile() -> None:
    assert hamming("0" * 24, "f" * 24) == 96
    assert hamming("8" + "0" * 23, "0" * 24) == 1
    assert hamming("ABCDEF0123456789abcdefAB", "abcdef0123456789abcdefab") == 0
    mask = fragile_mask(np.array([0.05, -0.05, 0.1, -0.2] + [1.0] * 92), 0.1)
    assert mask[:4].tolist() == [True, True, False, False] and mask.sum() == 2
    with pytest.raises(ValueError):
        fragile_mask(np.zeros(96), float("nan"))


def test_project_rejects_nonfinite_and_wrong_shapes() -> None:
    seed = make_seed()
    e = np.ones(128, np.float32)
    e[3] = np.inf
    with pytest.raises(ValueError, match="not finite"):
        project(seed, e)
    with pytest.raises(ValueError, match="128"):
        project(seed, np.ones(127, np.float32))


def test_float_hex_round_trip(rng: np.random.Generator) -> None:
    x = rng.standard_normal(50)
    assert f32_to_hex([1.0]) == ["3f800000"] and f64_to_hex([1.0]) == ["3ff0000000000000"]
    assert np.array_equal(hex_to_f64(f64_to_hex(x)), x)
    x32 = x.astype(np.float32)
    assert np.array_equal(hex_to_f32(f32_to_hex(x32)), x32)
    with pytest.raises(ValueError, match=r"projections\[1\]"):
        hex_to_f64(["3ff0000000000000", "xyz"], what="projections")


def test_seed_files_dat_and_f32(tmp_path) -> None:
    seed = make_seed()
    (tmp_path / "s.dat").write_bytes(seed_to_dat_bytes(seed))
    (tmp_path / "seed.f32").write_bytes(seed_to_f32_bytes(seed))
    assert np.array_equal(load_seed(tmp_path / "s.dat"), seed)
    assert np.array_equal(load_seed(tmp_path / "seed.f32"), seed)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:-4], "49276 bytes"),
        (lambda b: b + b"\0", "49281 bytes"),
        (lambda b: b"", "0 bytes"),
        (lambda b: b[:200] + np.float32(np.nan).tobytes() + b[204:], "non-finite"),
        (lambda b: b[:-4] + np.float32(np.inf).tobytes(), "non-finite"),
    ],
)
def test_bad_seed_files_name_the_file(tmp_path, mutate, message) -> None:
    path = tmp_path / "bad.dat"
    path.write_bytes(mutate(seed_to_dat_bytes(make_seed())))
    with pytest.raises(SeedFileError, match=message) as info:
        load_seed(path)
    assert str(path) in str(info.value)
    with pytest.raises(SeedFileError, match="cannot read"):
        load_seed(tmp_path / "missing.dat")
    with pytest.raises(SeedFileError):
        parse_seed(b"\0" * 100)
