"""The bundle self-test's mode sampler (export/mode_sampler.py): deterministic, tiny, one file per
mode, each decoding under the mode's rule, and 16-bit values a half-float decoder can keep."""

from __future__ import annotations

import struct

import numpy as np

from nhkit.export.bundle_writer import compute_decode_cases
from nhkit.export.mode_sampler import SIXTEEN_BIT_VALUES, sampler_files
from nhkit.runtime.decode import decode_image
from nhkit.runtime.spec import Spec


def test_sampler_is_deterministic_tiny_and_covers_the_png_modes() -> None:
    a, b = sampler_files(), sampler_files()
    assert [(f.case_id, f.data) for f in a] == [(f.case_id, f.data) for f in b]
    assert sum(len(f.data) for f in a) < 4096
    modes = {decode_image(f.data).source_mode for f in a}
    assert {"1", "L", "LA", "I;16", "RGB", "RGBA", "P"} <= modes
    assert len({f.case_id for f in a}) == len(a) == 19


def test_decode_cases_pin_the_high_byte_and_orientations() -> None:
    cases = {d.source.case_id: d for d in compute_decode_cases(Spec())}
    assert [cases[f"d{11 + v:02d}-png-exif{v}"].orientation for v in range(1, 9)] == [*range(1, 9)]
    assert (cases["d16-png-exif5"].width, cases["d16-png-exif5"].height) == (7, 11)
    f = next(s for s in sampler_files() if s.case_id == "d05-png-i16")
    grey = decode_image(f.data).rgb[:, :, 0].reshape(-1)
    want = np.resize(np.array(SIXTEEN_BIT_VALUES) >> 8, grey.size)
    assert np.array_equal(grey, want)
    # Rounding (v * 255 / 65535) would give other bytes for every value: the case tells them apart.
    assert all(round(v * 255 / 65535) != v >> 8 for v in SIXTEEN_BIT_VALUES)


def _half_truncated(x: np.float32) -> float:
    """float32 -> binary16 by truncating the significand (skcms's portable path)."""
    bits = struct.unpack("<I", struct.pack("<f", float(x)))[0]
    exp = ((bits >> 23) & 0xFF) - 127 + 15
    assert 0 < exp < 31, "the sampler's values are normal half floats"
    h = (exp << 10) | ((bits & 0x7FFFFF) >> 13)
    return float(np.frombuffer(struct.pack("<H", h), dtype="<f2")[0])


def test_sixteen_bit_values_survive_a_half_float_decoder() -> None:
    """Android decodes 16-bit PNGs to RGBA_F16; the high byte is then estimated as
    round(f * 65535) >> 8 (core HalfFloat16.highByte). The sampler's values keep it exact with
    round-to-nearest and with truncating conversion, so a device failure is a real bug."""
    for v in SIXTEEN_BIT_VALUES:
        f = np.float32(v / 65535)
        for half in (float(np.float16(f)), _half_truncated(f)):
            assert min(65535, round(half * 65535)) >> 8 == v >> 8, hex(v)
