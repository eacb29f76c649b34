#!/usr/bin/env python3
"""Generate the nh-spec-v1 conformance vectors from the Python reference runtime.

    python tests/vectors/generate.py           # (re)write tests/vectors/*.json
    python tests/vectors/generate.py --check   # exit 1 if any committed file differs

The output is byte-identical on every run (fixed seeds, fixed key order, no timestamps), so the
check is a plain byte comparison. Format: tests/vectors/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime.errors import SeedFileError
from nhkit.runtime.floathex import f32_to_hex, f64_to_hex
from nhkit.runtime.hashing import (
    bits_from_projections,
    bits_to_hex,
    fragile_mask,
    hamming,
    hex_to_bits,
    project,
)
from nhkit.runtime.orientation import apply_orientation
from nhkit.runtime.resize import bicubic_coefficients, resize_rgb
from nhkit.runtime.seed import DAT_BYTES, SEED_BYTES, parse_seed
from nhkit.runtime.tensor import NORMALISE_TABLE, normalise

GENERATOR_VERSION = "1"
HERE = Path(__file__).resolve().parent
GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


# ----- deterministic inputs -------------------------------------------------------------------
def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of SplitMix64 (closed form: state_i = seed + (i+1)*gamma)."""
    with np.errstate(over="ignore"):
        i = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def prng_bytes(seed: int, n: int) -> np.ndarray:
    words = splitmix64(seed, (n + 7) // 8)
    return words.astype("<u8").view(np.uint8)[:n]


def prng_image(seed: int, width: int, height: int, levels: int | None = None) -> np.ndarray:
    b = prng_bytes(seed, width * height * 3).astype(np.int32)
    if levels:
        b = (b % levels) * (255 // (levels - 1))
    return b.astype(np.uint8).reshape(height, width, 3)


def prng_spec(seed: int, levels: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"algorithm": "splitmix64", "seed": f"{seed:016x}"}
    if levels:
        d["levels"] = levels
    return d


def sha(a: np.ndarray | bytes) -> str:
    data = a if isinstance(a, bytes) else np.ascontiguousarray(a).tobytes()
    return hashlib.sha256(data).hexdigest()


def doc(algorithm: str, header: list[str], groups: list[dict[str, Any]]) -> dict[str, Any]:
    n = 0
    for g in groups:
        for t in g["tests"]:
            n += 1
            t["tcId"] = n
    return {
        "schema": "nhkit-vectors-v1",
        "algorithm": f"nh-spec-v1/{algorithm}",
        "generatorVersion": GENERATOR_VERSION,
        "header": header,
        "numberOfTests": n,
        "testGroups": groups,
    }


def case(
    comment: str,
    inp: dict[str, Any],
    expected: dict[str, Any],
    *,
    flags: list[str] | None = None,
    result: str = "valid",
) -> dict[str, Any]:
    return {
        "tcId": 0,
        "comment": comment,
        "flags": flags or [],
        "result": result,
        "input": inp,
        "expected": expected,
    }


# ----- step 3: resize -------------------------------------------------------------------------
RESIZE_SIZES: list[tuple[int, int, str]] = [
    (1, 1, "Tiny"),
    (1, 2, "Tiny"),
    (2, 1, "Tiny"),
    (3, 3, "Tiny"),
    (7, 5, "Upscale"),
    (360, 360, "Identity"),
    (360, 500, "VerticalOnly"),
    (500, 360, "HorizontalOnly"),
    (361, 359, "NearIdentity"),
    (720, 720, "Exact2x"),
    (1000, 37, "Wide"),
    (37, 1000, "Tall"),
    (640, 480, "Landscape"),
    (480, 640, "Portrait"),
    (1279, 853, "Landscape"),
    (853, 1279, "Portrait"),
    (100, 100, "Upscale"),
    (359, 1, "Wide"),
    (1, 359, "Tall"),
    (2017, 61, "Wide"),
    (61, 2017, "Tall"),
    (1081, 1081, "Downscale3x"),
]
SAMPLES = [(0, 0), (0, 359), (359, 0), (359, 359), (180, 180), (17, 301), (301, 17), (123, 234)]


def resize_vectors() -> dict[str, Any]:
    tests = []
    for k, (w, h, flag) in enumerate(RESIZE_SIZES):
        for levels in (None, 2):
            if levels and w * h < 4:
                continue
            seed = 0x5EED0000 + 16 * k + (1 if levels else 0)
            out = resize_rgb(prng_image(seed, w, h, levels))
            flags = [flag] + (["HardEdges"] if levels else [])
            tests.append(
                case(
                    f"{w}x{h} random{' two-level' if levels else ''} pixels",
                    {"width": w, "height": h, "prng": prng_spec(seed, levels)},
                    {
                        "width": 360,
                        "height": 360,
                        "sha256": sha(out),
                        "samples": [[y, x, *map(int, out[y, x])] for y, x in SAMPLES],
                    },
                    flags=flags,
                )
            )
    return doc(
        "resize",
        [
            "Spec step 3: Pillow-compatible 8-bit BICUBIC, horizontal then vertical.",
            "Inputs are splitmix64 images (see README); expected is the sha256 of "
            "the 360x360x3 RGB8 output plus sample pixels [y, x, r, g, b].",
        ],
        [
            {
                "type": "ResizeTest",
                "comment": "random sizes and shapes",
                "params": {"size": 360},
                "tests": tests,
            }
        ],
    )


def coefficient_vectors() -> dict[str, Any]:
    pairs = [
        (1, 360),
        (2, 360),
        (7, 360),
        (100, 360),
        (359, 360),
        (361, 360),
        (480, 360),
        (720, 360),
        (1000, 360),
        (1279, 360),
        (4032, 360),
        (3024, 360),
        (37, 360),
    ]
    # The input lengths <= 8000 whose tables hold the coefficients closest to a rounding tie
    # (|w * 2^22 - (k + 0.5)| = 4.4e-9 and 9.1e-9): the most sensitive checks of
    # the binary64 arithmetic an implementation can run at the spec's output size.
    near_ties = [(3841, 360), (5653, 360)]
    tests = []
    for n_in, n_out in pairs + near_ties:
        bounds, coeffs = bicubic_coefficients(n_in, n_out)
        rows = [[int(c) for c in coeffs[i, : int(bounds[i, 1])]] for i in range(n_out)]
        tests.append(
            case(
                f"{n_in} -> {n_out}",
                {"n_in": n_in, "n_out": n_out},
                {"bounds": [[int(a), int(b)] for a, b in bounds], "coefficients": rows},
                flags=["Upscale" if n_in < n_out else "Downscale" if n_in > n_out else "Identity"]
                + (["NearTie"] if (n_in, n_out) in near_ties else []),
            )
        )
    return doc(
        "resize-coefficients",
        [
            "Spec step 3: the fixed-point (22-bit) coefficient table of one axis.",
            "bounds[o] = [xmin, count]; coefficients[o] has `count` int32 values.",
        ],
        [
            {
                "type": "CoefficientTest",
                "comment": "",
                "params": {"precision_bits": 22},
                "tests": tests,
            }
        ],
    )


# ----- step 2: orientation --------------------------------------------------------------------
def orientation_vectors() -> dict[str, Any]:
    small = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 10 + 5  # H=2, W=3, distinct pixels
    small_tests, prng_tests = [], []
    for o in range(1, 9):
        out = np.ascontiguousarray(apply_orientation(small, o))
        small_tests.append(
            case(
                f"orientation {o} on a 3x2 image",
                {"width": 3, "height": 2, "orientation": o, "pixels": small.reshape(-1).tolist()},
                {
                    "width": out.shape[1],
                    "height": out.shape[0],
                    "sha256": sha(out),
                    "pixels": out.reshape(-1).tolist(),
                },
            )
        )
        img = prng_image(0x0E1F0000 + o, 37, 23)
        out = np.ascontiguousarray(apply_orientation(img, o))
        prng_tests.append(
            case(
                f"orientation {o} on a 37x23 random image",
                {"width": 37, "height": 23, "orientation": o, "prng": prng_spec(0x0E1F0000 + o)},
                {"width": out.shape[1], "height": out.shape[0], "sha256": sha(out)},
            )
        )
    for bad in (0, 9, 65535):
        img = prng_image(0x0E1F0100 + bad, 5, 4)
        prng_tests.append(
            case(
                f"out-of-range tag {bad} means 1 (unchanged)",
                {"width": 5, "height": 4, "orientation": bad, "prng": prng_spec(0x0E1F0100 + bad)},
                {"width": 5, "height": 4, "sha256": sha(img)},
                flags=["OutOfRange"],
            )
        )
    return doc(
        "orientation",
        ["Spec step 2: EXIF orientation 1..8 as pixel permutations; pixels are row-major RGB8."],
        [
            {
                "type": "OrientationTest",
                "comment": "explicit pixels",
                "params": {},
                "tests": small_tests,
            },
            {
                "type": "OrientationTest",
                "comment": "random pixels",
                "params": {},
                "tests": prng_tests,
            },
        ],
    )


# ----- step 4: normalise ----------------------------------------------------------------------
def normalise_vectors() -> dict[str, Any]:
    tests = [
        case(f"v = {v}", {"value": v}, {"float32": f32_to_hex([NORMALISE_TABLE[v]])[0]})
        for v in range(256)
    ]
    return doc(
        "normalise",
        ["Spec step 4: t = ((float32(v) / 255) * 2) - 1 in binary32."],
        [{"type": "NormaliseTest", "comment": "all 256 values", "params": {}, "tests": tests}],
    )


def tensor_vectors() -> dict[str, Any]:
    tests = []
    for k, levels in enumerate((None, 3)):
        seed = 0x7E550000 + k
        img = prng_image(seed, 360, 360, levels)
        nchw = normalise(img, "NCHW").astype("<f4")
        nhwc = normalise(img, "NHWC").astype("<f4")
        tests.append(
            case(
                "360x360 random image" + (" (3 levels)" if levels else ""),
                {"width": 360, "height": 360, "prng": prng_spec(seed, levels)},
                {
                    "sha256_nchw": sha(nchw.tobytes()),
                    "sha256_nhwc": sha(nhwc.tobytes()),
                    "samples_nchw": [
                        [c, y, x, f32_to_hex([nchw[0, c, y, x]])[0]]
                        for c, y, x in [(0, 0, 0), (1, 17, 301), (2, 359, 359)]
                    ],
                },
            )
        )
    return doc(
        "tensor",
        [
            "Spec step 4: the whole input tensor, float32 little-endian bytes, in "
            "NCHW [1,3,360,360] and NHWC [1,360,360,3]."
        ],
        [{"type": "TensorTest", "comment": "", "params": {}, "tests": tests}],
    )


# ----- steps 6-7: projections, bits, hex ------------------------------------------------------
def _seed_matrix() -> np.ndarray:
    rng = np.random.default_rng(20261121)
    q, _ = np.linalg.qr(rng.standard_normal((128, 96)))
    return q.T.astype(np.float32)


def projection_vectors() -> dict[str, Any]:
    seed = _seed_matrix()
    margin = 0.1
    rng = np.random.default_rng(42)
    embeddings: list[tuple[str, np.ndarray, list[str]]] = []
    for i in range(8):
        embeddings.append(
            (f"gaussian embedding {i}", rng.standard_normal(128).astype(np.float32), [])
        )
    embeddings.append(
        (
            "all zeros: every projection is +0.0, every bit 1",
            np.zeros(128, np.float32),
            ["ZeroProjection"],
        )
    )
    embeddings.append(
        (
            "all negative zeros: 0.0 + (-0.0) is +0.0, every bit 1",
            np.full(128, -0.0, np.float32),
            ["ZeroProjection", "NegativeZero"],
        )
    )
    embeddings.append(
        ("subnormal values", (rng.standard_normal(128) * 1e-40).astype(np.float32), ["Subnormal"])
    )
    embeddings.append(
        (
            "large values near float32 max",
            (rng.standard_normal(128) * 1e37).astype(np.float32),
            ["Large"],
        )
    )
    # Order sensitivity: huge values that cancel, plus small ones; a reordered sum differs.
    e = (rng.standard_normal(128) * 1e-3).astype(np.float32)
    e[0], e[1], e[64], e[127] = 3e7, -3e7, 1.5e7, -1.5e7
    embeddings.append(
        ("cancelling large values: left-to-right order matters", e, ["OrderSensitive"])
    )
    e2 = (rng.standard_normal(128) * 0.02).astype(np.float32)
    embeddings.append(("small embedding: many fragile bits", e2, ["Fragile"]))

    valid = []
    s64 = seed.astype(np.float64)
    for comment, emb, flags in embeddings:
        p = project(seed, emb)
        if "OrderSensitive" in flags:
            reordered = np.array(
                [
                    sum(reversed([float(s64[i, j]) * float(emb[j]) for j in range(128)]))
                    for i in range(96)
                ]
            )
            assert np.any(reordered != p), "order-sensitive vector is not order sensitive"
        bits = bits_from_projections(p)
        valid.append(
            case(
                comment,
                {"embedding": f32_to_hex(emb)},
                {
                    "projections": f64_to_hex(p),
                    "hash": bits_to_hex(bits),
                    "fragile": bits_to_hex(fragile_mask(p, margin).astype(np.uint8)),
                },
                flags=flags,
            )
        )
    invalid = []
    for comment, val in [
        ("NaN in the embedding", np.float32("nan")),
        ("+infinity in the embedding", np.float32("inf")),
        ("-infinity in the embedding", np.float32("-inf")),
    ]:
        emb = rng.standard_normal(128).astype(np.float32)
        emb[5] = val
        invalid.append(
            case(comment, {"embedding": f32_to_hex(emb)}, {}, flags=["NonFinite"], result="invalid")
        )
    seed_hex = seed.astype("<f4").tobytes().hex()
    params = {"seed_f32": seed_hex, "fragile_margin": margin}
    return doc(
        "projection",
        [
            "Spec steps 6-7: projections in float64, left to right; bits; hex; "
            "fragile mask at params.fragile_margin.",
            "params.seed_f32 is the hex of a seed.f32 file (96x128 LE float32).",
        ],
        [
            {
                "type": "ProjectionTest",
                "comment": "valid embeddings",
                "params": params,
                "tests": valid,
            },
            {
                "type": "ProjectionTest",
                "comment": "non-finite embeddings are errors",
                "params": params,
                "tests": invalid,
            },
        ],
    )


def hex_vectors() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    valid = []
    for _ in range(6):
        bits = rng.integers(0, 2, 96).astype(np.uint8)
        h = bits_to_hex(bits)
        valid.append(case("random hash", {"hex": h}, {"bits": "".join(map(str, bits)), "hex": h}))
    for text, comment in [
        ("0" * 24, "all zeros"),
        ("f" * 24, "all ones"),
        ("800000000000000000000000", "only bit 0 (most significant)"),
        ("000000000000000000000001", "only bit 95"),
        ("ABCDEF0123456789abcdefAB", "upper case accepted, output lower case"),
        ("FFFFFFFFFFFFFFFFFFFFFFFF", "upper case all ones"),
    ]:
        bits = hex_to_bits(text)
        valid.append(
            case(comment, {"hex": text}, {"bits": "".join(map(str, bits)), "hex": text.lower()})
        )
    invalid = [
        case(comment, {"hex": text}, {}, result="invalid", flags=["Malformed"])
        for text, comment in [
            ("", "empty"),
            ("0" * 23, "23 digits"),
            ("0" * 25, "25 digits"),
            ("0x" + "0" * 22, "0x prefix"),
            ("0x" + "0" * 24, "0x prefix, 26 chars"),
            (" " + "0" * 23, "leading space"),
            ("0" * 23 + "\n", "trailing newline"),
            ("g" + "0" * 23, "non-hex letter"),
            ("-" + "0" * 23, "minus sign"),
            ("\u0660" * 24, "Arabic-Indic digits are not hex digits"),
            ("\uff10" * 24, "full-width digits are not hex digits"),
            ("0" * 12 + " " + "0" * 11, "space inside"),
        ]
    ]
    return doc(
        "hex",
        [
            "Spec step 7: parsing and formatting 96-bit hashes as 24 hex digits.",
            "expected.bits lists bit 0 first.",
        ],
        [
            {"type": "HexTest", "comment": "valid", "params": {}, "tests": valid},
            {"type": "HexTest", "comment": "invalid", "params": {}, "tests": invalid},
        ],
    )


def hamming_vectors() -> dict[str, Any]:
    rng = np.random.default_rng(11)
    tests = []
    pairs = [
        ("0" * 24, "0" * 24),
        ("0" * 24, "f" * 24),
        ("8" + "0" * 23, "0" * 24),
        ("0" * 23 + "1", "0" * 24),
        ("aaaaaaaaaaaaaaaaaaaaaaaa", "555555555555555555555555"),
        ("ABCDEF0123456789abcdefAB", "abcdef0123456789ABCDEFab"),
    ]
    for _ in range(8):
        a = bits_to_hex(rng.integers(0, 2, 96).astype(np.uint8))
        b = bits_to_hex(rng.integers(0, 2, 96).astype(np.uint8))
        pairs.append((a, b))
    for a, b in pairs:
        tests.append(case("", {"a": a, "b": b}, {"distance": hamming(a, b)}))
    return doc(
        "hamming",
        ["Spec step 7: Hamming distance between two hashes."],
        [{"type": "HammingTest", "comment": "", "params": {}, "tests": tests}],
    )


# ----- step 8: seed files ---------------------------------------------------------------------
def seed_floats(seed: int) -> np.ndarray:
    """Finite seed values from splitmix64: ((z >> 40) / 2^23) - 1, exact in float32."""
    z = splitmix64(seed, 96 * 128)
    return ((z >> np.uint64(40)).astype(np.float64) / float(1 << 23) - 1.0).astype(np.float32)


def seed_vectors() -> dict[str, Any]:
    header = (
        "The file is built as: (header: the first 128 bytes of the splitmix64 byte stream "
        "of header_prng, if has_header) + the 12288 float32 values ((z >> 40) / 2^23 - 1 "
        "for splitmix64 outputs z of matrix_prng) as LE bytes, then poison (index, float32 "
        "bits) replaced, then cut to `length` bytes (or padded with `extra` zero bytes)."
    )
    tests = []
    for k, (has_header, poison, length_delta, comment, valid) in enumerate(
        [
            (False, None, 0, "seed.f32, 49152 bytes", True),
            (True, None, 0, "NeuralHash .dat, 49280 bytes", True),
            (False, (100, "7fc00000"), 0, "NaN in the matrix", False),
            (True, (12287, "7f800000"), 0, "+infinity in the last value", False),
            (False, (0, "ff800000"), 0, "-infinity in the first value", False),
            (False, None, -4, "one float short", False),
            (True, None, 4, ".dat with 4 extra bytes", False),
            (False, None, -49152, "empty file", False),
        ]
    ):
        vals = seed_floats(0x5EEDF000 + k)
        if poison:
            vals = vals.copy()
            vals.view(np.uint32)[poison[0]] = int(poison[1], 16)
        data = (prng_bytes(0x4EAD0000 + k, 128).tobytes() if has_header else b"") + vals.astype(
            "<f4"
        ).tobytes()
        data = data[: len(data) + length_delta] if length_delta < 0 else data + b"\0" * length_delta
        inp = {
            "has_header": has_header,
            "header_prng": prng_spec(0x4EAD0000 + k),
            "matrix_prng": prng_spec(0x5EEDF000 + k),
            "poison": None if poison is None else {"index": poison[0], "float32": poison[1]},
            "length": len(data),
        }
        try:
            m = parse_seed(data, source="vector")
            assert valid, comment
            tests.append(
                case(
                    comment,
                    inp,
                    {
                        "sha256": sha(m.astype("<f4").tobytes()),
                        "samples": [
                            [r, c, f32_to_hex([m[r, c]])[0]]
                            for r, c in [(0, 0), (0, 127), (95, 127), (47, 64)]
                        ],
                    },
                )
            )
        except SeedFileError:
            assert not valid, comment
            tests.append(
                case(
                    comment,
                    inp,
                    {},
                    result="invalid",
                    flags=["NonFinite" if poison else "WrongSize"],
                )
            )
    assert SEED_BYTES == 49152 and DAT_BYTES == 49280
    return doc(
        "seed",
        ["Spec step 8: seed files (.dat with 128-byte header, headerless .f32).", header],
        [{"type": "SeedTest", "comment": "", "params": {}, "tests": tests}],
    )


GENERATORS = {
    "resize.json": resize_vectors,
    "resize_coefficients.json": coefficient_vectors,
    "orientation.json": orientation_vectors,
    "normalise.json": normalise_vectors,
    "tensor.json": tensor_vectors,
    "projection.json": projection_vectors,
    "hex.json": hex_vectors,
    "hamming.json": hamming_vectors,
    "seed.json": seed_vectors,
}


def _render(obj: Any, indent: int) -> str:
    """JSON with two-space indent, but lists of scalars (and lists of such lists, like pixel
    samples) on one line each, to keep the files small and diffs readable."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}  {json.dumps(k)}: {_render(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))
        if all(
            isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v) for v in obj
        ):
            if sum(len(v) for v in obj) <= 64:
                return json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))
        items = [pad + "  " + _render(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=True)


# What each test flag means (Wycheproof's "notes"): every file carries the notes of the flags it
# uses, so an implementer reading one failing test knows what it is about.
FLAG_NOTES: dict[str, str] = {
    "Tiny": "A 1-3 pixel wide or tall input: filter supports are clipped at both edges.",
    "Upscale": "The output is larger than the input on at least one axis: the filter support "
    "is not scaled (filterscale 1).",
    "Downscale": "The output is smaller than the input: the filter support grows with the "
    "scale factor.",
    "Downscale3x": "An exact 3x downscale on both axes (1080 -> 360).",
    "Identity": "Input and output sizes are equal: the pass is skipped (no resampling at all).",
    "NearIdentity": "One pixel off 360 on each axis: nearly the identity, but resampled.",
    "VerticalOnly": "The width is already 360: only the vertical pass runs.",
    "HorizontalOnly": "The height is already 360: only the horizontal pass runs.",
    "Exact2x": "An exact 2x downscale on both axes.",
    "Wide": "A very wide image (aspect ratio far above 1): the horizontal pass does most work.",
    "Tall": "A very tall image (aspect ratio far below 1): the vertical pass does most work.",
    "Landscape": "A typical landscape photo size.",
    "Portrait": "A typical portrait photo size.",
    "HardEdges": "Pixels quantised to a few levels (prng `levels`): flat regions and hard edges, "
    "which drive the bicubic filter's overshoot into clipping at 0 and 255.",
    "NearTie": "A filter weight lands within rounding distance of a .5 tie in fixed point: "
    "the float64 order of operations decides the coefficient.",
    "OutOfRange": "An EXIF orientation outside 1..8 (0, 9, 65535): treated as 1 (unchanged).",
    "ZeroProjection": "Projections that are exactly zero: bit i is 1 iff p[i] >= 0, so they "
    "are 1 bits.",
    "NegativeZero": "Projections that are -0.0: -0.0 >= 0 holds, so they are 1 bits too.",
    "Subnormal": "Subnormal float32 embedding values: must not be flushed to zero.",
    "Large": "Embedding values near the float32 maximum: the float64 sums must not overflow.",
    "OrderSensitive": "Values whose float64 sum depends on the summation order: the spec's "
    "left-to-right order (index 0..127) gives the expected bits.",
    "Fragile": "A small embedding, so many projections are inside the fragile margin.",
    "NonFinite": "A NaN or infinite float32 in the input: it must be rejected with an error.",
    "Malformed": "Not exactly 24 ASCII hex digits (wrong length, other characters or digits, "
    "whitespace, prefixes): it must be rejected.",
    "WrongSize": "A seed file of a size other than 49,152 (.f32) or 49,280 (.dat) bytes: it "
    "must be rejected.",
}


def envelope(name: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The file as written: its JSON Schema's path and the notes of the flags it uses go next
    to the header (key order as documented in README.md)."""
    used = sorted({f for g in obj["testGroups"] for t in g["tests"] for f in t["flags"]})
    missing = [f for f in used if f not in FLAG_NOTES]
    if missing:
        raise KeyError(f"{name}: flags without a note in FLAG_NOTES: {missing}")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        out[key] = value
        if key == "schema":
            out["jsonSchema"] = f"schemas/{name.removesuffix('.json')}.schema.json"
        if key == "header":
            out["notes"] = {f: FLAG_NOTES[f] for f in used}
    return out


# The spec's constants, as docs/spec/nh-spec-v1.md states them (written by hand, not read from
# the runtime: each language checks its own constants against this file). In a subfolder
# because the Swift and Java vector suites treat every top-level *.json as a vector file.
SPEC_FILE = "spec/spec.json"
SPEC_CONSTANTS: dict[str, Any] = {
    "schema": "nhkit-spec-constants-v1",
    "jsonSchema": "../schemas/spec.schema.json",
    "spec": "nh-spec-v1",
    "header": [
        "The constants of docs/spec/nh-spec-v1.md, for every implementation to compare "
        "its own against (Python: tests/test_vectors.py)."
    ],
    "constants": {
        "input_size": 360,
        "input_channels": 3,
        "canonical_layout": "NCHW",
        "resize": "pillow-bicubic-hv",
        "bicubic_a": -0.5,
        "resize_precision_bits": 22,
        "normalise": "v/255*2-1",
        "embedding_dim": 128,
        "hash_bits": 96,
        "hash_hex_digits": 24,
        "seed_rows": 96,
        "seed_cols": 128,
        "seed_f32_bytes": 49152,
        "seed_dat_header_bytes": 128,
        "seed_dat_bytes": 49280,
        "orientation_policies": ["apply", "ignore"],
        "exif_orientation_tag": 274,
        "orientation_values": [1, 2, 3, 4, 5, 6, 7, 8],
        "default_max_pixels": 100000000,
    },
}


# ----- reader vectors: golden files and device reports every reader must judge alike -----------

READERS_DIR = "readers"


def _reader_golden() -> dict[str, Any]:
    from nhkit.runtime.golden import GoldenImage, GoldenSet, ModelInfo
    from nhkit.runtime.spec import Spec

    rng = np.random.default_rng(41)
    images = []
    for i, lossless in enumerate((True, False)):
        p = rng.standard_normal(96)
        images.append(
            GoldenImage(
                id=f"im{i}",
                hash=bits_to_hex(bits_from_projections(p)),
                projections=p,
                fragile=np.abs(p) < 0.1,
                lossless=lossless,
                file=f"im{i}.png",
                sha256=sha(bytes([i])),
                embedding=rng.standard_normal(128).astype(np.float32),
            )
        )
    g = GoldenSet(
        spec=Spec(fragile_margin=0.1),
        model=ModelInfo(name="m", fingerprint="f" * 64, sha256="e" * 64, seed_sha256="d" * 64),
        images=images,
        created="2026-01-01T00:00:00Z",
        tool={"nhkit": "vectors"},
    )
    return g.to_json()


def _reader_report() -> dict[str, Any]:
    from nhkit.runtime.digest import StageDigests
    from nhkit.runtime.report import BundleRef, DeviceReport, ReportCase
    from nhkit.runtime.spec import Spec

    rng = np.random.default_rng(42)
    emb = rng.standard_normal(128).astype(np.float32)
    proj = rng.standard_normal(96)
    timings = {"decode": 1.5, "resize": 2.0, "normalise": 0.5, "model": 9.25, "project": 0.25}
    cases = [
        ReportCase(
            id="im0",
            digests=StageDigests(sha(b"d"), sha(b"r"), sha(b"t")),
            embedding=emb,
            projections=proj,
            hash=bits_to_hex(bits_from_projections(proj)),
            timings_ms=timings,
            orientation=1,
        ),
        ReportCase(id="im1", error="cannot decode im1.jpg"),
    ]
    r = DeviceReport(
        bridge={"name": "vectors", "version": "1"},
        platform={"os": "test", "os_version": "1", "device_model": "none"},
        runtime={"name": "litert", "version": "1", "compute_unit": "cpu", "threads": 1},
        bundle=BundleRef(
            bundle_id="b.tflite-fp32",
            manifest_sha256="c" * 64,
            checksums_verified=True,
            target="tflite",
        ),
        spec=Spec(fragile_margin=0.1),
        created="2026-01-01T00:00:00Z",
        cases=cases,
    )
    return r.to_json()


def _reader_cases_doc() -> dict[str, Any]:
    """selftest/cases.json with one case (docs/bundle-format.md), values from a fixed PRNG."""
    rng = np.random.default_rng(43)
    emb = rng.standard_normal(128).astype(np.float32)
    proj = rng.standard_normal(96)
    return {
        "format": "nhkit-selftest",
        "format_version": 1,
        "bundle_id": "vec.tflite-fp32",
        "cases": [
            {
                "id": "s01-png",
                "source": "s01-png.png",
                "lossless": True,
                "description": "landscape RGB PNG 320x240",
                "orientation": 1,
                "rgb360": "s01-png.rgb360",
                "digests": {"decoded": sha(b"d"), "resized": sha(b"r"), "tensor": sha(b"t")},
                "expected": {
                    "hash": bits_to_hex(bits_from_projections(proj)),
                    "embedding": f32_to_hex(emb),
                    "projections": f64_to_hex(proj),
                    "fragile": bits_to_hex(np.abs(proj) < 0.1),
                },
            }
        ],
    }


def _reader_manifest() -> dict[str, Any]:
    """A TFLite fp32 bundle manifest (docs/bundle-format.md); digests of stand-in bytes (the
    reader vectors test the manifest reader, not the files it lists)."""
    from nhkit.runtime.spec import Spec

    seed_sha = sha(b"seed")
    files = [
        ("model.tflite", sha(b"model"), 1000),
        ("seed.f32", seed_sha, 49152),
        ("selftest/cases.json", sha(b"cases"), 2000),
        ("selftest/s01-png.png", sha(b"png"), 3000),
        ("selftest/s01-png.rgb360", sha(b"r"), 388800),
    ]
    return {
        "format": "nhkit-bundle",
        "format_version": 1,
        "bundle_id": "vec.tflite-fp32",
        "spec": Spec(fragile_margin=0.1).to_json(),
        "source_model": {"name": "vec", "sha256": sha(b"onnx"), "fingerprint": sha(b"fp")},
        "target": "tflite",
        "runtime": {"name": "litert", "min_version": "1.15.0"},
        "variant": {"name": "fp32", "precision": "fp32", "compression": "none"},
        "model": {
            "file": "model.tflite",
            "inputs": [
                {
                    "name": "image",
                    "shape": [1, 360, 360, 3],
                    "dtype": "float32",
                    "layout": "NHWC",
                    "quantization": None,
                }
            ],
            "outputs": [
                {"name": "embedding", "shape": [1, 128], "dtype": "float32", "quantization": None}
            ],
        },
        "seed": {
            "file": "seed.f32",
            "rows": 96,
            "cols": 128,
            "dtype": "float32",
            "byte_order": "little",
            "sha256": seed_sha,
        },
        "selftest": {"file": "selftest/cases.json", "cases": 1},
        "files": [{"path": p, "sha256": h, "size": n} for p, h, n in files],
        "drift": {
            "reference": "onnxruntime-fp32",
            "images": 8,
            "photos": 4,
            "hamming": {"mean": 0.0, "p95": 0, "max": 0},
            "bit_exact_rate": 1.0,
            "embedding": {"max_abs_error": 0.0, "cosine_min": 1.0, "cosine_mean": 1.0},
            "nonfragile_flips": 0,
            "fragile_flips": 0,
            "budget": {"mean": 0.0, "max": 0},
            "passed": True,
            "overridden": False,
            "selftest": {"cases": 1, "hamming_max": 0, "nonfragile_max": 0},
        },
        "tolerance": {"hamming": 1, "lossy_hamming": 5, "nonfragile_flips": 0},
        "tools": {"nhkit": "vectors"},
    }


#: A float32 input entry's fields for an int8 one (the lut of scale 1/127.5, zero point -1):
#: used by model cases that claim an int8 interface for a float model.
def _int8_quantization(output: bool) -> dict[str, Any]:
    from nhkit.runtime.backends.tflite import input_lut

    scale, zero_point = 0.0078431377, -1
    q: dict[str, Any] = {"scale": scale, "zero_point": zero_point}
    if not output:
        q["lut"] = input_lut(scale, zero_point)
    return q


def _exact_int8_input(d: dict[str, Any]) -> None:
    """The manifest's input made int8-io's exact int8 input (docs/bundle-format.md)."""
    d["model"]["inputs"][0].update(
        {
            "dtype": "int8",
            "quantization": {
                "scale": 0.007843137718737125,
                "zero_point": -128,
                "offset": -1.0,
                "lut": list(range(-128, 128)),
            },
        }
    )


def _model_cases() -> list[dict[str, Any]]:
    """Manifest edits that keep the manifest valid on its own but make it disagree with the
    model of a real bundle (the tiny test model exported by each suite's fixture script):
    every reader that opens the model must refuse the bundle, naming the field."""
    inp, out = ["model", "inputs", 0], ["model", "outputs", 0]

    def case(
        bundle: str, sets: list[tuple[list[Any], Any]], error: str, comment: str
    ) -> dict[str, Any]:
        return {
            "bundle": bundle,
            "set": [{"path": path, "value": value} for path, value in sets],
            "result": "invalid",
            "error": error,
            "comment": comment,
        }

    return [
        case(
            "tiny.tflite-fp32",
            [(inp + ["shape"], [1, 3, 360, 360]), (inp + ["layout"], "NCHW")],
            "model.inputs[0].shape",
            "NCHW input claimed for an NHWC model (shape and layout agree with each other)",
        ),
        case(
            "tiny.tflite-fp32",
            [(inp + ["dtype"], "int8"), (inp + ["quantization"], _int8_quantization(False))],
            "model.inputs[0].dtype",
            "int8 input claimed for a float32 model",
        ),
        case(
            "tiny.tflite-fp32",
            [(out + ["shape"], [1, 1, 128])],
            "model.outputs[0].shape",
            "output shape [1, 1, 128] for a [1, 128] output (same element count)",
        ),
        case(
            "tiny.tflite-fp32",
            [(out + ["dtype"], "int8"), (out + ["quantization"], _int8_quantization(True))],
            "model.outputs[0].dtype",
            "int8 output claimed for a float32 model",
        ),
        case(
            "tiny.tflite-int8-io",
            [(inp + ["quantization", "scale"], 0.5)],
            "model.inputs[0].quantization",
            "an int8 input scale that is not the model's",
        ),
        case(
            "tiny.coreml-fp32",
            [(inp + ["shape"], [1, 360, 360, 3]), (inp + ["layout"], "NHWC")],
            "model.inputs[0].shape",
            "NHWC input claimed for an NCHW Core ML program",
        ),
        case(
            "tiny.coreml-fp32",
            [(out + ["shape"], [128])],
            "model.outputs[0].shape",
            "output shape [128] for a [1, 128] output (same element count)",
        ),
    ]


def reader_vectors() -> dict[str, bytes]:
    """readers/<name>.json files plus readers/index.json: each file, which reader reads it,
    the verdict (valid/invalid) and, for invalid ones, the field the error must name. Policy
    for every language: duplicate keys, NaN literals and truncated files are errors; a UTF-8
    byte order mark is tolerated."""
    from nhkit.runtime.jsonfile import json_bytes

    files: dict[str, bytes] = {}
    index: list[dict[str, Any]] = []

    def add(name: str, reader: str, data: bytes, error: str | None, comment: str) -> None:
        files[f"{READERS_DIR}/{name}.json"] = data
        index.append(
            {
                "file": f"{name}.json",
                "reader": reader,
                "result": "valid" if error is None else "invalid",
                "error": error,
                "comment": comment,
            }
        )

    def edited(doc: dict[str, Any], edit: Any) -> bytes:
        d = json.loads(json.dumps(doc))
        edit(d)
        return json_bytes(d)

    g = _reader_golden()
    gb = json_bytes(g)
    first_hash = f'"hash": "{g["images"][0]["hash"]}"'
    add("golden-valid", "golden", gb, None, "a valid golden set (two images)")
    add("golden-bom", "golden", b"\xef\xbb\xbf" + gb, None, "a UTF-8 byte order mark is tolerated")
    add(
        "golden-duplicate-key",
        "golden",
        gb.replace(first_hash.encode(), (first_hash + ", " + first_hash).encode(), 1),
        "images[0].hash",
        "a key twice in one object: rejected, never last-one-wins",
    )
    add(
        "golden-nan",
        "golden",
        gb.replace(b'"hamming": 2', b'"hamming": NaN', 1),
        "tolerance.hamming",
        "a NaN literal is not JSON",
    )
    add("golden-truncated", "golden", gb[: len(gb) // 2], "truncated", "a file cut short")
    add(
        "golden-other-format",
        "golden",
        edited(g, lambda d: d.__setitem__("format", "nhkit-device-report")),
        "format",
        "a device report handed in as a golden file",
    )
    add(
        "golden-version-2",
        "golden",
        edited(g, lambda d: d.__setitem__("format_version", 2)),
        "format_version",
        "a format version this reader does not know",
    )
    add(
        "golden-short-hash",
        "golden",
        edited(g, lambda d: d["images"][0].__setitem__("hash", d["images"][0]["hash"][:23])),
        "images[0].hash",
        "23 hex digits",
    )
    add(
        "golden-sign-mismatch",
        "golden",
        edited(
            g,
            lambda d: d["images"][1].__setitem__(
                "hash", f"{int(d['images'][1]['hash'], 16) ^ 1:024x}"
            ),
        ),
        "images[1].hash",
        "the hash is not the signs of the projections (bit 95 flipped)",
    )
    add(
        "golden-unknown-field",
        "golden",
        edited(g, lambda d: d["images"][0].__setitem__("hsah", "x")),
        "images[0].hsah",
        "a misspelt field is an error, not ignored",
    )

    r = _reader_report()
    rb = json_bytes(r)
    add(
        "report-valid",
        "report",
        rb,
        None,
        "a valid device report (one case failed on the device, which is a valid report)",
    )
    add(
        "report-duplicate-key",
        "report",
        rb.replace(b'"id": "im0"', b'"id": "im0", "id": "im1"', 1),
        "cases[0].id",
        "a key twice in one object: rejected, never last-one-wins",
    )
    add(
        "report-nan",
        "report",
        rb.replace(b'"decode": 1.5', b'"decode": Infinity', 1),
        "cases[0].timings_ms.decode",
        "an Infinity literal is not JSON",
    )
    add("report-truncated", "report", rb[: len(rb) - 40], "truncated", "a file cut short")
    add(
        "report-missing-hash",
        "report",
        edited(r, lambda d: d["cases"][0].pop("hash")),
        "cases[0]",
        "a case without an error must carry its hash",
    )
    add(
        "report-nonfinite-projection",
        "report",
        edited(r, lambda d: d["cases"][0]["projections"].__setitem__(5, "7ff8000000000000")),
        "cases[0].projections[5]",
        "a NaN projection (as a bit pattern)",
    )
    add(
        "report-other-format",
        "report",
        edited(r, lambda d: d.__setitem__("format", "nhkit-golden")),
        "format",
        "a golden file handed in as a report",
    )
    m = _reader_manifest()
    mb = json_bytes(m)
    add("manifest-valid", "manifest", mb, None, "a valid TFLite fp32 bundle manifest")
    add(
        "manifest-bom",
        "manifest",
        b"\xef\xbb\xbf" + mb,
        None,
        "a UTF-8 byte order mark is tolerated",
    )
    add(
        "manifest-duplicate-key",
        "manifest",
        mb.replace(b'"dtype": "float32",', b'"dtype": "float32", "dtype": "int8",', 1),
        "model.inputs[0].dtype",
        "a key twice in one object: rejected, never last-one-wins",
    )
    add(
        "manifest-nan",
        "manifest",
        mb.replace(b'"fragile_margin": 0.1', b'"fragile_margin": NaN', 1),
        "spec.fragile_margin",
        "a NaN literal is not JSON",
    )
    add(
        "manifest-infinity",
        "manifest",
        mb.replace(b'"mean": 0.0,', b'"mean": -Infinity,', 1),
        "drift.hamming.mean",
        "an -Infinity literal is not JSON (in a field no bridge uses: the whole file is read)",
    )
    add("manifest-truncated", "manifest", mb[: len(mb) * 2 // 3], "truncated", "a file cut short")
    add(
        "manifest-other-format",
        "manifest",
        edited(m, lambda d: d.__setitem__("format", "nhkit-selftest")),
        "format",
        "a self-test cases file's format id",
    )
    add(
        "manifest-version-2",
        "manifest",
        edited(m, lambda d: d.__setitem__("format_version", 2)),
        "format_version",
        "a format version this reader does not know",
    )
    add(
        "manifest-version-string",
        "manifest",
        edited(m, lambda d: d.__setitem__("format_version", "1")),
        "format_version",
        "format_version as a string",
    )
    add(
        "manifest-missing-layout",
        "manifest",
        edited(m, lambda d: d["model"]["inputs"][0].pop("layout")),
        "model.inputs[0].layout",
        "a required field is missing",
    )
    add(
        "manifest-missing-tolerance",
        "manifest",
        edited(m, lambda d: d.pop("tolerance")),
        "tolerance",
        "a required top-level object is missing (every field of the format is required)",
    )
    add(
        "manifest-shape-type",
        "manifest",
        edited(m, lambda d: d["model"]["inputs"][0]["shape"].__setitem__(1, "360")),
        "model.inputs[0].shape[1]",
        "a dimension as a string",
    )
    add(
        "manifest-size-type",
        "manifest",
        edited(m, lambda d: d["files"][0].__setitem__("size", True)),
        "files[0].size",
        "a file size as a boolean",
    )
    add(
        "manifest-unknown-field",
        "manifest",
        edited(m, lambda d: d["model"]["inputs"][0].__setitem__("lyout", "NHWC")),
        "model.inputs[0].lyout",
        "a misspelt field is an error, not ignored",
    )
    add(
        "manifest-unknown-top-field",
        "manifest",
        edited(m, lambda d: d.__setitem__("comment", "hand edited")),
        "comment",
        "an unknown top-level field is an error (free-form text belongs in tools)",
    )
    add(
        "manifest-budget-nonfragile",
        "manifest",
        edited(m, lambda d: d["drift"]["budget"].update({"p99": 0, "nonfragile_flips": 0})),
        None,
        "a drift budget with its p99 and non-fragile-flips terms (both optional, as older "
        "bundles lack them)",
    )
    add(
        "manifest-budget-nonfragile-type",
        "manifest",
        edited(m, lambda d: d["drift"]["budget"].__setitem__("nonfragile_flips", 0.5)),
        "drift.budget.nonfragile_flips",
        "a non-fragile-flips budget that is not a whole number",
    )
    add(
        "manifest-int8-input-offset",
        "manifest",
        edited(m, _exact_int8_input),
        None,
        "an int8 input with an offset (int8-io's exact input: zero point -128, offset -1, so "
        "lut[v] = v - 128); offset is optional, 0 when absent",
    )
    add(
        "manifest-int8-offset-type",
        "manifest",
        edited(
            m,
            lambda d: (
                _exact_int8_input(d),
                d["model"]["inputs"][0]["quantization"].__setitem__("offset", "-1"),
            ),
        ),
        "model.inputs[0].quantization.offset",
        "an input offset that is not a number",
    )
    add(
        "manifest-int8-output-offset",
        "manifest",
        edited(
            m,
            lambda d: d["model"]["outputs"][0].update(
                {"dtype": "int8", "quantization": {"scale": 0.5, "zero_point": 3, "offset": 0.0}}
            ),
        ),
        "model.outputs[0].quantization.offset",
        "an offset on the output: only an input has one (the output is read as "
        "(q - zero_point) * scale)",
    )
    add(
        "manifest-layout-shape",
        "manifest",
        edited(m, lambda d: d["model"]["inputs"][0].__setitem__("layout", "NCHW")),
        "model.inputs[0].shape",
        "the input shape is not the one its layout means ([1,360,360,3] with NCHW)",
    )
    add(
        "manifest-output-shape",
        "manifest",
        edited(m, lambda d: d["model"]["outputs"][0].__setitem__("shape", [1, 96])),
        "model.outputs[0].shape",
        "an output that cannot hold the 128-float embedding",
    )

    c = _reader_cases_doc()
    cb = json_bytes(c)
    add("cases-valid", "cases", cb, None, "a valid selftest/cases.json (one case)")
    add("cases-bom", "cases", b"\xef\xbb\xbf" + cb, None, "a UTF-8 byte order mark is tolerated")
    add(
        "cases-duplicate-key",
        "cases",
        cb.replace(b'"lossless": true,', b'"lossless": true, "lossless": false,', 1),
        "cases[0].lossless",
        "a key twice in one object: rejected, never last-one-wins",
    )
    add(
        "cases-nan",
        "cases",
        cb.replace(b'"orientation": 1', b'"orientation": NaN', 1),
        "cases[0].orientation",
        "a NaN literal is not JSON",
    )
    add("cases-truncated", "cases", cb[: len(cb) // 2], "truncated", "a file cut short")
    add(
        "cases-other-format",
        "cases",
        edited(c, lambda d: d.__setitem__("format", "nhkit-bundle")),
        "format",
        "a bundle manifest's format id",
    )
    add(
        "cases-version-2",
        "cases",
        edited(c, lambda d: d.__setitem__("format_version", 2)),
        "format_version",
        "a format version this reader does not know",
    )
    add(
        "cases-missing-digest",
        "cases",
        edited(c, lambda d: d["cases"][0]["digests"].pop("tensor")),
        "cases[0].digests.tensor",
        "a required field is missing",
    )
    add(
        "cases-lossless-type",
        "cases",
        edited(c, lambda d: d["cases"][0].__setitem__("lossless", "yes")),
        "cases[0].lossless",
        "a boolean as a string",
    )
    add(
        "cases-unknown-field",
        "cases",
        edited(c, lambda d: d["cases"][0].__setitem__("note", "x")),
        "cases[0].note",
        "an unknown field is an error, not ignored",
    )
    add(
        "cases-short-embedding",
        "cases",
        edited(c, lambda d: d["cases"][0]["expected"]["embedding"].pop()),
        "cases[0].expected.embedding",
        "127 embedding values",
    )
    add(
        "cases-duplicate-id",
        "cases",
        edited(c, lambda d: d["cases"].append(json.loads(json.dumps(d["cases"][0])))),
        "cases[1].id",
        "two cases with one id",
    )
    files[f"{READERS_DIR}/index.json"] = json_bytes(
        {
            "schema": "nhkit-reader-vectors-v1",
            "jsonSchema": "../schemas/readers.schema.json",
            "header": [
                "Golden files, device reports, bundle manifests and self-test cases with the "
                "verdict every reader (Python, Swift, Java) must reach: valid, or invalid with "
                "an error naming `error` (a field path, or `truncated`) and the file.",
                "model_cases: edits of a real bundle's manifest (the tiny test model, exported "
                "by each suite's fixture step) that leave the manifest valid on its own but "
                "make it disagree with its model; every reader that opens the model refuses "
                "the bundle, naming the field.",
            ],
            "cases": index,
            "model_cases": _model_cases(),
        }
    )
    return files


def render(obj: dict[str, Any]) -> bytes:
    text = _render(obj, 0) + "\n"
    assert json.loads(text) == obj
    return text.encode("ascii")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    stale = []
    from match_vectors import MATCH_GENERATORS  # hash-list vectors: their own envelope

    outputs = {
        name: lambda name=name, gen=gen: render(envelope(name, gen()))
        for name, gen in GENERATORS.items()
    }
    outputs.update({name: lambda gen=gen: render(gen()) for name, gen in MATCH_GENERATORS.items()})
    outputs[SPEC_FILE] = lambda: render(SPEC_CONSTANTS)
    for reader_file, reader_data in reader_vectors().items():
        outputs[reader_file] = lambda data=reader_data: data
    for name, make in outputs.items():
        data = make()
        path = args.out / name
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
    if stale:
        print(
            "stale or missing vector files: "
            + ", ".join(stale)
            + "\nrun: python tests/vectors/generate.py",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(f"{len(outputs)} vector files up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
