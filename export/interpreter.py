"""The float64 numpy reference interpreter of the internal graph (ir.py).

Why: it is the oracle that proves the ONNX front end kept the model's function (checked against
onnxruntime on every export) and that each converter maps every op correctly. Float64 so that
its own rounding is far below any converter's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nhkit.runtime.coreml.ops import resize_bilinear_half_pixel

from .ir import OPS, Graph, Node


def _conv_numpy(x: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    """Direct convolution in float64, one kernel tap at a time (kh*kw strided slices)."""
    w = np.asarray(a["weight"], dtype=np.float64)
    bias = np.asarray(a["bias"], dtype=np.float64)
    (sh, sw), (dh, dw), g = a["strides"], a["dilations"], int(a["groups"])
    t, l_, b, r = a["pads"]
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l_, r)))
    n, c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    oh = (hp - (kh - 1) * dh - 1) // sh + 1
    ow = (wp - (kw - 1) * dw - 1) // sw + 1
    og = o // g
    xg = xp.reshape(n, g, cg, hp, wp)
    wg = w.reshape(g, og, cg, kh, kw)
    out = np.zeros((n, g, og, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xg[
                :,
                :,
                :,
                i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                j * dw : j * dw + sw * (ow - 1) + 1 : sw,
            ]
            if cg == 1 and og == 1:  # depthwise: elementwise, much faster than einsum
                out += patch * wg[:, 0, 0, i, j][None, :, None, None, None]
            else:
                out += np.einsum("ngchw,goc->ngohw", patch, wg[:, :, :, i, j], optimize=True)
    return out.reshape(n, o, oh, ow) + bias[None, :, None, None]


def _crop(v: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    top, left, h, w = (int(d) for d in box)
    return v[:, :, top : top + h, left : left + w]


def _f64(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


Kernel = Callable[[Node, np.ndarray, "np.ndarray | None"], np.ndarray]

KERNELS: dict[str, Kernel] = {
    "conv": lambda n, v, w: _conv_numpy(v, n.attrs),
    "relu": lambda n, v, w: np.maximum(v, 0.0),
    "clip": lambda n, v, w: np.clip(v, n.attrs["min"], n.attrs["max"]),
    "hardswish": lambda n, v, w: v * np.clip(v / 6.0 + 0.5, 0.0, 1.0),
    "hardsigmoid": lambda n, v, w: np.clip(n.attrs["alpha"] * v + n.attrs["beta"], 0.0, 1.0),
    "sigmoid": lambda n, v, w: 1.0 / (1.0 + np.exp(-v)),
    "add": lambda n, v, w: v + w,
    "sub": lambda n, v, w: v - w,
    "mul": lambda n, v, w: v * w,
    "div": lambda n, v, w: v / w,
    "global_avg_pool": lambda n, v, w: v.mean(axis=(2, 3), keepdims=True),
    "flatten": lambda n, v, w: v.reshape(v.shape[0], -1),
    "dense": lambda n, v, w: v @ _f64(n.attrs["weight"]).T + _f64(n.attrs["bias"]),
    "reshape": lambda n, v, w: v.reshape((v.shape[0],) + tuple(n.attrs["shape"])),
    "crop": lambda n, v, w: _crop(v, n.attrs["box"]),
    "resize_bilinear": lambda n, v, w: resize_bilinear_half_pixel(v, *n.attrs["size"]),
}


def run_graph(
    graph: Graph, x: np.ndarray, *, keep: bool = False
) -> np.ndarray | dict[str, np.ndarray]:
    """Evaluate the internal graph in float64 numpy: the oracle proving lowering kept the function.

    x is the canonical NCHW batch [N,3,360,360] (any N). Returns float32 [N,128], or with
    keep=True every intermediate value (float64) by name, for debugging converters."""
    vals: dict[str, np.ndarray] = {graph.input_name: np.asarray(x, dtype=np.float64)}

    def get(name: str) -> np.ndarray:
        if name in graph.constants:
            return _f64(graph.constants[name])
        return vals[name]

    for node in graph.nodes:
        kernel = KERNELS.get(node.op)
        if kernel is None:
            raise ValueError(f"unknown internal op {node.op!r}")
        second = get(node.inputs[1]) if OPS[node.op].arity == 2 else None
        vals[node.output] = kernel(node, get(node.inputs[0]), second)
    if keep:
        return vals
    return vals[graph.output_name].astype(np.float32)
