"""numpy implementations of the MIL ops nhkit's Core ML exporter emits, plus weight decompression.

Semantics follow coremltools' op definitions (`coremltools/converters/mil/mil/ops/defs/`):
parameter names, defaults and layouts (conv weight [C_out, C_in/groups, kH, kW], conv `pad` as
[h_begin, h_end, w_begin, w_end], linear weight [out, in]) are MIL's. All floating arithmetic is
float32; the executor rounds the outputs of fp16-typed ops to float16 afterwards.

Each compute op is `fn(args, cache) -> ndarray`: `args` maps MIL parameter names to numpy values
(absent optional parameters are absent), `cache` is a per-op dict that survives between calls so
constant weights are re-laid-out for matmul only once (entries are keyed on the weight object's
identity, so a non-constant weight is never served stale).

The `decompress_*` functions materialise `constexpr_*` ops. They mirror coremltools' own
`decompress` / `materialized_val_inference` arithmetic step by step (same dtypes, same order of
operations) so the result is bit-identical to what coremltools computes, which the tests check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .blob import unpack_sub_byte

OpFn = Callable[[dict[str, Any], dict[str, Any]], np.ndarray]


class OpError(ValueError):
    """An op's parameters are outside what the executor (or MIL) supports."""


def _f32(x: Any) -> np.ndarray:
    a = np.asarray(x)
    return a if a.dtype == np.float32 else a.astype(np.float32)


def _ints(x: Any) -> list[int]:
    return [int(v) for v in np.asarray(x).reshape(-1)]


def _scalar(x: Any) -> Any:
    a = np.asarray(x)
    if a.size != 1:
        raise OpError(f"expected a scalar, got shape {list(a.shape)}")
    return a.reshape(()).item()


def _str(x: Any) -> str:
    if isinstance(x, str):
        return x
    raise OpError(f"expected a string parameter, got {type(x).__name__}")


def round_to_fp16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest float16 (ties to even), returned as float32.

    Bit-identical to `x.astype(np.float16).astype(np.float32)` but ~5-8x faster: numpy converts
    to float16 in scalar code. For float16's normal range, rounding the float32 significand to 10
    bits with integer arithmetic is exact (the carry into the exponent is the correct result);
    the rare elements outside it (fp16 subnormals, overflow, inf, NaN) go through numpy."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    b = x.view(np.uint32)
    r = b >> 13
    r &= 1
    r += 0x0FFF
    r += b
    r &= 0xFFFFE000
    a = b & 0x7FFFFFFF
    bad = a >= 0x477FF000  # |x| >= 65520 rounds to inf in fp16; also inf and NaN
    a -= 1  # 0 wraps around, so zeros are not flagged below
    bad |= a < 0x387FFFFF  # 0 < |x| < 2**-14: fp16 subnormal range
    y = r.view(np.float32)
    if bad.any():
        idx = np.flatnonzero(bad)
        with np.errstate(over="ignore"):
            y.reshape(-1)[idx] = x.reshape(-1)[idx].astype(np.float16).astype(np.float32)
    return y


# ---------------------------------------------------------------------------------------------
# convolution


def _conv_pads(
    args: dict[str, Any], hw: tuple[int, int], k_eff: tuple[int, int], strides: list[int]
) -> list[int]:
    """[top, bottom, left, right] from MIL's pad_type / pad."""
    pad_type = _str(args.get("pad_type", "valid"))
    if pad_type == "valid":
        return [0, 0, 0, 0]
    if pad_type == "custom":
        p = _ints(args.get("pad", [0, 0, 0, 0]))
        if len(p) != 4 or min(p) < 0:
            raise OpError(f"conv pad must be 4 non-negative values, got {p}")
        return p
    if pad_type in ("same", "same_lower"):
        out: list[int] = []
        for size, k, s in zip(hw, k_eff, strides):
            o = -(-size // s)
            total = max((o - 1) * s + k - size, 0)
            small, big = total // 2, total - total // 2
            out += [big, small] if pad_type == "same_lower" else [small, big]
        return out
    raise OpError(f"conv pad_type {pad_type!r} is not supported")


def conv(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """2-D convolution (NCHW). Three vectorised paths, chosen per op:

    - 1x1 kernels: a single matmul per group over the (strided) pixels;
    - depthwise (groups == C_in, one input channel per group): a sum over the kernel taps of
      whole-tensor multiply-adds of shifted views, so no patch matrix is built;
    - everything else: im2col (a strided window view) + one matmul per group.
    """
    x = _f32(args["x"])
    w_src = args["weight"]
    if x.ndim != 4 or np.ndim(w_src) != 4:
        raise OpError(f"only 2-D convolution on rank-4 tensors is supported, got x rank {x.ndim}")
    n, c, h, wd = x.shape
    o, cg, kh, kw = np.shape(w_src)
    groups = int(_scalar(args.get("groups", 1)))
    strides = _ints(args.get("strides", [1, 1]))
    dil = _ints(args.get("dilations", [1, 1]))
    if len(strides) != 2 or len(dil) != 2 or min(strides) < 1 or min(dil) < 1:
        raise OpError(f"bad conv strides {strides} or dilations {dil}")
    if groups < 1 or c % groups or o % groups or c // groups != cg:
        raise OpError(
            f"conv groups={groups} do not fit input channels {c}, weight {[o, cg, kh, kw]}"
        )
    k_eff = ((kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1)
    t, b, left, r = _conv_pads(args, (h, wd), k_eff, strides)
    hp, wp = h + t + b, wd + left + r
    ho = (hp - k_eff[0]) // strides[0] + 1
    wo = (wp - k_eff[1]) // strides[1] + 1
    if ho < 1 or wo < 1:
        raise OpError(f"conv output would be empty ({ho}x{wo})")
    if t or b or left or r:
        xp = np.zeros((n, c, hp, wp), dtype=np.float32)
        xp[:, :, t : t + h, left : left + wd] = x
    else:
        xp = x
    sh, sw = strides
    og = o // groups

    if cache.get("w_src") is not w_src:  # re-lay-out the weight once per constant
        w = _f32(w_src)
        cache.clear()
        cache["w_src"] = w_src
        if groups == c and cg == 1:
            # depthwise: taps [kh*kw, O, 1, 1]
            cache["dw"] = np.ascontiguousarray(w.reshape(o, kh * kw).T.reshape(kh * kw, 1, o, 1, 1))
        else:
            cache["mat"] = np.ascontiguousarray(w.reshape(groups, og, cg * kh * kw))

    if "dw" in cache:
        mult = o // c
        src = np.repeat(xp, mult, axis=1) if mult > 1 else xp
        taps = cache["dw"]
        out = np.zeros((n, o, ho, wo), dtype=np.float32)
        tmp = np.empty_like(out)
        for i in range(kh):
            for j in range(kw):
                y0, x0 = i * dil[0], j * dil[1]
                view = src[:, :, y0 : y0 + sh * (ho - 1) + 1 : sh, x0 : x0 + sw * (wo - 1) + 1 : sw]
                np.multiply(view, taps[i * kw + j], out=tmp)
                out += tmp
    else:
        # 2-D matmuls only: numpy's stacked (3-D) matmul can miss the BLAS fast path.
        mat = cache["mat"]
        out = np.empty((n, o, ho * wo), dtype=np.float32)
        if kh == 1 and kw == 1:
            pix = xp[:, :, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw]
            for i in range(n):
                cols_i = np.ascontiguousarray(pix[i]).reshape(c, ho * wo)
                for g in range(groups):
                    np.matmul(
                        mat[g], cols_i[g * cg : (g + 1) * cg], out=out[i, g * og : (g + 1) * og]
                    )
        else:
            win = sliding_window_view(xp, k_eff, axis=(2, 3))  # [N, C, Hw, Ww, kh', kw']
            win = win[:, :, ::sh, ::sw, :: dil[0], :: dil[1]][:, :, :ho, :wo]
            for i in range(n):
                for g in range(groups):
                    part = win[i, g * cg : (g + 1) * cg]  # [cg, ho, wo, kh, kw]
                    cols = part.transpose(0, 3, 4, 1, 2).reshape(cg * kh * kw, ho * wo)
                    np.matmul(mat[g], cols, out=out[i, g * og : (g + 1) * og])
        out = out.reshape(n, o, ho, wo)
    bias = args.get("bias")
    if bias is not None:
        out += _f32(bias).reshape(1, o, 1, 1)
    return out


# ---------------------------------------------------------------------------------------------
# elementwise


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> OpFn:
    def op(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
        x, y = np.asarray(args["x"]), np.asarray(args["y"])
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = _f32(x), _f32(y)
        return fn(x, y)

    return op


def _real_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(x, y)


def relu(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    return np.maximum(_f32(args["x"]), np.float32(0))


def relu6(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    return np.minimum(np.maximum(_f32(args["x"]), np.float32(0)), np.float32(6))


def clip(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """min(max(x, alpha), beta), as MIL defines it."""
    lo = np.float32(_scalar(args["alpha"]))
    hi = np.float32(_scalar(args["beta"]))
    return np.minimum(np.maximum(_f32(args["x"]), lo), hi)


def sigmoid_hard(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """min(max(alpha * x + beta, 0), 1); MIL defaults alpha = 0.2, beta = 0.5."""
    alpha = np.float32(_scalar(args.get("alpha", 0.2)))
    beta = np.float32(_scalar(args.get("beta", 0.5)))
    y = _f32(args["x"]) * alpha
    y += beta
    return np.clip(y, np.float32(0), np.float32(1), out=y)


def thresholded_relu(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """x where x > alpha, else 0 (PyTorch's hard-swish lowering uses alpha = -3)."""
    x = _f32(args["x"])
    alpha = np.float32(_scalar(args.get("alpha", 1.0)))
    return np.where(x > alpha, x, np.float32(0)).astype(np.float32)


def sigmoid(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """1 / (1 + exp(-x)), evaluated without overflow for large |x|."""
    x = _f32(args["x"])
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)


def silu(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """x * sigmoid(x): coremltools fuses a `mul(x, sigmoid(x))` pair into this op."""
    x = _f32(args["x"])
    return x * sigmoid({"x": x}, cache)


def batch_norm(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """gamma * (x - mean) / sqrt(variance + epsilon) + beta over axis 1 (MIL default eps 1e-5).

    coremltools' `fuse_elementwise_to_batchnorm` pass turns a per-channel constant mul + add
    into this op, so it can appear although the exporter never emits it."""
    x = _f32(args["x"])
    if x.ndim < 2:
        raise OpError(f"batch_norm needs rank >= 2, got {x.ndim}")
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)

    def param(name: str, default: float) -> np.ndarray:
        v = args.get(name)
        arr = np.full(c, default, np.float32) if v is None else _f32(v).reshape(-1)
        if arr.size != c:
            raise OpError(f"batch_norm {name} has {arr.size} values for {c} channels")
        return arr.reshape(shape)

    eps = np.float32(_scalar(args.get("epsilon", 1e-5)))
    mean, var = param("mean", 0.0), param("variance", 1.0)
    gamma, beta = param("gamma", 1.0), param("beta", 0.0)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def linear_activation(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    alpha = np.float32(_scalar(args["alpha"]))
    beta = np.float32(_scalar(args.get("beta", 0.0)))
    return _f32(args["x"]) * alpha + beta


def identity(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    return np.asarray(args["x"])


# ---------------------------------------------------------------------------------------------
# reductions, shapes


def _axes(args: dict[str, Any], rank: int) -> tuple[int, ...] | None:
    a = args.get("axes")
    if a is None:
        return None
    out = []
    for v in _ints(a):
        if not -rank <= v < rank:
            raise OpError(f"axis {v} out of range for rank {rank}")
        out.append(v % rank)
    return tuple(out)


def _reduce(fn: Callable[..., np.ndarray]) -> OpFn:
    def op(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
        x = _f32(args["x"])
        keep = bool(_scalar(args.get("keep_dims", False)))
        return np.asarray(fn(x, axis=_axes(args, x.ndim), keepdims=keep), dtype=np.float32)

    return op


def reshape(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """MIL reshape: -1 is inferred; 0 copies the input dimension when ranks are equal."""
    x = np.asarray(args["x"])
    shape = _ints(args["shape"])
    if 0 in shape:
        if len(shape) != x.ndim:
            raise OpError(f"reshape shape {shape} uses 0 with a different rank than {x.shape}")
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _resize_axis(v: np.ndarray, axis: int, out: int) -> np.ndarray:
    size = v.shape[axis]
    src = np.clip((np.arange(out, dtype=np.float64) + 0.5) * size / out - 0.5, 0.0, size - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, size - 1)
    w = (src - lo).reshape([-1 if a == axis else 1 for a in range(v.ndim)]).astype(v.dtype)
    return np.take(v, lo, axis=axis) * (1 - w) + np.take(v, hi, axis=axis) * w


def resize_bilinear_half_pixel(v: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of the last two axes with half-pixel centres, clamped at the edges
    (MIL's UNALIGN_CORNERS, TFLite's half_pixel_centers, ONNX's half_pixel), in v's dtype.
    Also the export interpreter's kernel, so the oracle and this executor agree by construction."""
    return _resize_axis(_resize_axis(v, v.ndim - 2, int(height)), v.ndim - 1, int(width))


def resize_bilinear(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    mode = _str(args.get("sampling_mode", "DEFAULT"))
    if mode != "UNALIGN_CORNERS":
        raise OpError(f"resize_bilinear sampling_mode {mode!r} (only UNALIGN_CORNERS)")
    return resize_bilinear_half_pixel(
        _f32(args["x"]),
        int(_scalar(args["target_size_height"])),
        int(_scalar(args["target_size_width"])),
    )


def crop(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    x = np.asarray(args["x"])
    (top, bottom), (left, right) = _ints(args["crop_height"]), _ints(args["crop_width"])
    h, w = x.shape[-2], x.shape[-1]
    if min(top, bottom, left, right) < 0 or top + bottom >= h or left + right >= w:
        raise OpError(f"crop {top, bottom, left, right} does not fit a {h}x{w} map")
    return x[..., top : h - bottom, left : w - right]


def transpose(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    return np.transpose(np.asarray(args["x"]), _ints(args["perm"]))


def squeeze(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    x = np.asarray(args["x"])
    axes = _axes(args, x.ndim)
    if axes is None:
        return np.squeeze(x)
    for a in axes:
        if x.shape[a] != 1:
            raise OpError(f"squeeze axis {a} has size {x.shape[a]}, not 1")
    return np.squeeze(x, axis=axes)


def expand_dims(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    x = np.asarray(args["x"])
    axes = _ints(args["axes"])
    return np.expand_dims(x, tuple(axes))


def pad(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """MIL pad: `pad` holds (before, after) pairs for the last len(pad)/2 dimensions."""
    x = np.asarray(args["x"])
    p = _ints(args["pad"])
    if len(p) % 2 or len(p) // 2 > x.ndim or min(p, default=0) < 0:
        raise OpError(f"bad pad {p} for rank {x.ndim}")
    widths = [(0, 0)] * (x.ndim - len(p) // 2) + [(p[i], p[i + 1]) for i in range(0, len(p), 2)]
    mode = _str(args.get("mode", "constant"))
    if mode == "constant":
        value = _scalar(args.get("constant_val", 0.0))
        return np.pad(x, widths, mode="constant", constant_values=value)
    if mode in ("reflect", "replicate"):
        return np.pad(x, widths, mode="reflect" if mode == "reflect" else "edge")
    raise OpError(f"pad mode {mode!r} is not supported")


_CAST_TYPES: dict[str, np.dtype] = {
    "fp16": np.dtype(np.float16),
    "fp32": np.dtype(np.float32),
    "int32": np.dtype(np.int32),
    "int16": np.dtype(np.int16),
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
    "bool": np.dtype(np.bool_),
}


def cast(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """Cast to the named dtype; fp16 values are rounded (and carried as float32, see executor)."""
    dt = _str(args["dtype"])
    if dt not in _CAST_TYPES:
        raise OpError(f"cast to {dt!r} is not supported")
    x = np.asarray(args["x"])
    if dt == "fp16":
        return round_to_fp16(x.astype(np.float32))
    return x.astype(_CAST_TYPES[dt])


def linear(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    """x @ weight.T + bias, weight [out, in]."""
    x = _f32(args["x"])
    w_src = args["weight"]
    if cache.get("w_src") is not w_src:
        cache.clear()
        cache["w_src"] = w_src
        cache["wt"] = np.ascontiguousarray(_f32(w_src).T)
    y = np.matmul(x, cache["wt"])
    bias = args.get("bias")
    if bias is not None:
        y += _f32(bias)
    return y


def matmul(args: dict[str, Any], cache: dict[str, Any]) -> np.ndarray:
    x, y = _f32(args["x"]), _f32(args["y"])
    if bool(_scalar(args.get("transpose_x", False))):
        x = np.swapaxes(x, -1, -2) if x.ndim >= 2 else x
    if bool(_scalar(args.get("transpose_y", False))):
        y = np.swapaxes(y, -1, -2) if y.ndim >= 2 else y
    return np.matmul(x, y)


COMPUTE_OPS: dict[str, OpFn] = {
    "conv": conv,
    "add": _binary(np.add),
    "sub": _binary(np.subtract),
    "mul": _binary(np.multiply),
    "real_div": _binary(_real_div),
    "maximum": _binary(np.maximum),
    "minimum": _binary(np.minimum),
    "relu": relu,
    "relu6": relu6,
    "clip": clip,
    "sigmoid_hard": sigmoid_hard,
    "sigmoid": sigmoid,
    "silu": silu,
    "thresholded_relu": thresholded_relu,
    "batch_norm": batch_norm,
    "linear_activation": linear_activation,
    "identity": identity,
    "reduce_mean": _reduce(np.mean),
    "reduce_sum": _reduce(np.sum),
    "reduce_max": _reduce(np.max),
    "reshape": reshape,
    "transpose": transpose,
    "crop": crop,
    "resize_bilinear": resize_bilinear,
    "squeeze": squeeze,
    "expand_dims": expand_dims,
    "pad": pad,
    "cast": cast,
    "linear": linear,
    "matmul": matmul,
}


# ---------------------------------------------------------------------------------------------
# weight decompression (constexpr ops), bit-identical to coremltools' materialisation


def _promote_rank(param: np.ndarray, rank: int, axis: int) -> np.ndarray:
    """Scale / zero point, scalar or vector along `axis`, reshaped to broadcast (coremltools'
    `promote_rank_to_same_as_data`)."""
    if param.ndim == rank:
        return param
    if param.ndim == 0:
        return param.reshape((1,) * rank)
    if param.ndim != 1:
        raise OpError(f"scale/zero_point must be a scalar or vector, got shape {param.shape}")
    shape = [1] * rank
    shape[axis % rank] = param.shape[0]
    return param.reshape(shape)


def decompress_affine_dequantize(
    quantized_data: np.ndarray, zero_point: np.ndarray, scale: np.ndarray, axis: int
) -> np.ndarray:
    """iOS16 `constexpr_affine_dequantize`: scale * (q - zero_point), in the dtype of `scale`.

    As coremltools computes it: (float32(q) - float32(zp)) * scale evaluated in float32, then
    rounded once to the scale's dtype."""
    q = np.asarray(quantized_data)
    rank = q.ndim
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} out of range for rank {rank}")
    ax = axis % rank
    for name, p in (("scale", scale), ("zero_point", zero_point)):
        if np.ndim(p) == 1 and np.shape(p)[0] != q.shape[ax]:
            raise OpError(f"{name} has {np.shape(p)[0]} values for axis {ax} of size {q.shape[ax]}")
    s = _promote_rank(np.asarray(scale), rank, ax)
    zp = _promote_rank(np.asarray(zero_point), rank, ax)
    out = q.astype(np.float32)
    out -= zp.astype(np.float32)
    out *= s
    return out.astype(s.dtype)


def decompress_lut_ios16(indices: np.ndarray, lut: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """iOS16 `constexpr_lut_to_dense`: n-bit indices packed LSB first into uint8 `indices`,
    a 1-D `lut` of 2**n entries, output `shape`."""
    lut = np.asarray(lut)
    shp = [int(v) for v in np.asarray(shape).reshape(-1)]
    if lut.ndim != 1 or lut.shape[0] not in (2, 4, 16, 64, 256):
        raise OpError(f"lut must be a vector of 2, 4, 16, 64 or 256 entries, got {lut.shape}")
    nbits = int(lut.shape[0]).bit_length() - 1
    count = int(np.prod(shp, dtype=np.int64))
    packed = np.asarray(indices, dtype=np.uint8).reshape(-1)
    if packed.size != -(-nbits * count // 8):
        raise OpError(f"{packed.size} index bytes, expected ceil({nbits} * {count} / 8)")
    if nbits == 8:
        idx = packed
    else:
        idx = unpack_sub_byte(
            packed, {1: "uint1", 2: "uint2", 4: "uint4", 6: "uint6"}[nbits], count
        )
    return lut[idx].reshape(shp)


def decompress_lut_ios18(
    indices: np.ndarray, lut: np.ndarray, vector_axis: int | None
) -> np.ndarray:
    """iOS18 `constexpr_lut_to_dense`: per-block LUTs [..., 2**n, vector_size] broadcast over
    the (unpacked) `indices` tensor (coremltools' `optimize._utils.lut_to_dense`)."""
    indices = np.asarray(indices)
    lut = np.asarray(lut)
    if lut.ndim != indices.ndim + 2:
        raise OpError(f"lut rank {lut.ndim} must be indices rank {indices.ndim} + 2")
    palette, vsize = lut.shape[-2], lut.shape[-1]
    out_shape = list(indices.shape)
    if vsize > 1:
        if vector_axis is None:
            raise OpError("vector palettization needs vector_axis")
        va = vector_axis % indices.ndim
        indices = np.swapaxes(indices, -1, va)
        lut = np.swapaxes(lut, -3, va)
        out_shape = list(indices.shape)
        out_shape[-1] *= vsize
    reps = []
    for axis, size in enumerate(indices.shape):
        if size % lut.shape[axis]:
            raise OpError(f"lut blocks {lut.shape[axis]} do not divide axis {axis} of size {size}")
        reps.append(size // lut.shape[axis])
    flat = indices.astype(np.uint8).reshape(-1)
    rep = lut
    for axis, k in enumerate(reps):
        if k > 1:
            rep = np.repeat(rep, k, axis=axis)
    rep = rep.reshape(flat.size, palette, vsize)
    if flat.size and int(flat.max()) >= palette:
        raise OpError(f"lut index {int(flat.max())} out of range for {palette} entries")
    out = rep[np.arange(rep.shape[0]), flat.astype(np.int32)].reshape(out_shape)
    if vsize > 1 and vector_axis is not None:
        out = np.swapaxes(out, -1, vector_axis % indices.ndim)
    return out


def decompress_blockwise_shift_scale(
    data: np.ndarray, scale: np.ndarray, offset: np.ndarray | None
) -> np.ndarray:
    """iOS18 `constexpr_blockwise_shift_scale`: scale * (data - offset) with per-block scale and
    offset repeated over the blocks, computed in the scale's dtype as coremltools does."""
    scale = np.asarray(scale)
    d = np.asarray(data).astype(scale.dtype)
    if d.ndim != scale.ndim or (offset is not None and np.shape(offset) != scale.shape):
        raise OpError(
            f"data {d.shape}, scale {scale.shape} and offset "
            f"{None if offset is None else np.shape(offset)} ranks/shapes disagree"
        )
    off = None if offset is None else np.asarray(offset)
    for axis, (ds, ss) in enumerate(zip(d.shape, scale.shape)):
        if ds % ss:
            raise OpError(f"scale blocks {ss} do not divide axis {axis} of size {ds}")
        if ds // ss > 1:
            scale = np.repeat(scale, ds // ss, axis)
            if off is not None:
                off = np.repeat(off, ds // ss, axis)
    if off is not None:
        d = d - off
    return scale * d


def decompress_cast(source_val: np.ndarray, output_dtype: str) -> np.ndarray:
    """`constexpr_cast` (fp16 -> fp32)."""
    if output_dtype != "fp32":
        raise OpError(f"constexpr_cast to {output_dtype!r} is not supported")
    return np.float32(np.asarray(source_val))


CONSTEXPR_OPS: frozenset[str] = frozenset(
    {
        "constexpr_affine_dequantize",
        "constexpr_lut_to_dense",
        "constexpr_blockwise_shift_scale",
        "constexpr_cast",
    }
)


def decompress(op_type: str, p: dict[str, Any]) -> np.ndarray:
    """Materialise one constexpr op from its parameters (already loaded as numpy values)."""

    def need(name: str) -> Any:
        if name not in p:
            raise OpError(f"{op_type} is missing its {name!r} parameter")
        return p[name]

    if op_type == "constexpr_affine_dequantize":
        return decompress_affine_dequantize(
            need("quantized_data"), need("zero_point"), need("scale"), int(_scalar(need("axis")))
        )
    if op_type == "constexpr_lut_to_dense":
        if "shape" in p:  # iOS16 form: packed uint8 indices + flat lut + shape
            return decompress_lut_ios16(need("indices"), need("lut"), p["shape"])
        va = p.get("vector_axis")
        return decompress_lut_ios18(
            need("indices"), need("lut"), None if va is None else int(_scalar(va))
        )
    if op_type == "constexpr_blockwise_shift_scale":
        return decompress_blockwise_shift_scale(need("data"), need("scale"), p.get("offset"))
    if op_type == "constexpr_cast":
        return decompress_cast(need("source_val"), _str(need("output_dtype")))
    raise OpError(f"unknown constexpr op {op_type!r}")
