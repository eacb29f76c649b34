"""nhkit's internal graph (IR): the dozen ops every converter (TFLite, Core ML) and the reference
interpreter understand, and the one table that lists them.

Why our own graph instead of onnx2tf / onnx-coreml: every converter we ship to then sees the
same well-understood ops with explicit pads and BatchNorm already folded, so the two targets
cannot disagree about padding conventions or op semantics. `OPS` below is the vocabulary; the
ONNX front end (onnx_frontend.py) only emits these ops, and every consumer (shape inference here,
interpreter.py, tflite.py, coreml.py) dispatches through a table keyed by the same names, which
the tests compare with `OPS`, so an op cannot be added to one and forgotten in another.

Conventions (the contract for every consumer):

- Layout is NCHW everywhere, like ONNX. Every value has a known shape in `Graph.shapes`, with the
  batch dimension written as 1; the batch is free at run time (`run_graph` accepts any N).
- Nodes are in topological order. `Node.inputs` name graph values: the graph input, an earlier
  node's output, or (binary ops only) an entry of `Graph.constants`.
- Binary ops (add, sub, mul, div) use numpy broadcasting. At most one operand is a constant; a
  constant is either 0-d (a scalar) or has the same rank as the other operand (NCHW for rank 4).
  Two non-constant operands always have the same rank. Arrays in attrs are float32 numpy.
- The output value `Graph.output_name` has shape [N, 128].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nhkit.runtime.errors import ModelError


class UnsupportedModelError(ModelError):
    """The model uses ops or patterns outside the internal vocabulary; lists every offender."""


@dataclass(frozen=True)
class OpSpec:
    """One internal op: how many graph inputs it takes, its attributes, what it computes."""

    arity: int
    attrs: tuple[str, ...]
    meaning: str


OPS: dict[str, OpSpec] = {
    "conv": OpSpec(
        1,
        ("weight", "bias", "strides", "pads", "dilations", "groups"),
        "weight OIHW, bias [O] (always present), strides (sh, sw), pads (top, left, "
        "bottom, right), dilations (dh, dw), groups; BatchNormalization and a zero "
        "Pad before it are folded in",
    ),
    "relu": OpSpec(1, (), "max(x, 0)"),
    "clip": OpSpec(
        1, ("min", "max"), "clip(x, min, max); floats, may be +-inf (relu6 is clip(0, 6))"
    ),
    "hardswish": OpSpec(1, (), "x * clip(x/6 + 0.5, 0, 1)"),
    "hardsigmoid": OpSpec(1, ("alpha", "beta"), "clip(alpha*x + beta, 0, 1)"),
    "sigmoid": OpSpec(1, (), "1 / (1 + exp(-x))"),
    "add": OpSpec(2, (), "x + y (broadcasting)"),
    "sub": OpSpec(2, (), "x - y (broadcasting)"),
    "mul": OpSpec(2, (), "x * y (broadcasting)"),
    "div": OpSpec(2, (), "x / y (broadcasting)"),
    "global_avg_pool": OpSpec(1, (), "[N,C,H,W] -> [N,C,1,1]"),
    "flatten": OpSpec(1, (), "[N,...] -> [N, prod(...)], in NCHW (C-major) order"),
    "dense": OpSpec(1, ("weight", "bias"), "y = x @ weight.T + bias; weight [out, in], x [N, in]"),
    "reshape": OpSpec(1, ("shape",), "[N,...] -> [N, *shape] (shape excludes the batch dim)"),
    "crop": OpSpec(
        1, ("box",), "[N,C,H,W] -> [N,C,h,w]: the window box = (top, left, h, w), in pixels"
    ),
    "resize_bilinear": OpSpec(
        1,
        ("size",),
        "[N,C,H,W] -> [N,C,*size]: bilinear, half-pixel centres (source coordinate "
        "(o + 0.5) * in / out - 0.5, clamped to the edge), no antialiasing",
    ),
}

INTERNAL_OPS: frozenset[str] = frozenset(OPS)
BINARY_OPS: frozenset[str] = frozenset(op for op, s in OPS.items() if s.arity == 2)


@dataclass
class Node:
    """One op of the internal graph; `name` is the ONNX node it came from (for messages)."""

    op: str
    inputs: list[str]
    output: str
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass
class Graph:
    """A lowered model: NCHW input -> ordered nodes -> [N, 128] output (see module docstring)."""

    input_name: str
    input_shape: tuple[int, int, int, int]
    nodes: list[Node]
    output_name: str
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dynamic_batch: bool = False

    def op_counts(self) -> dict[str, int]:
        """How many nodes of each op (for reports and tests)."""
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return dict(sorted(counts.items()))

    def parameter_count(self) -> int:
        """Number of weights (conv/dense weights and biases plus constants)."""
        total = sum(int(c.size) for c in self.constants.values())
        for n in self.nodes:
            for key in ("weight", "bias"):
                if key in n.attrs:
                    total += int(np.asarray(n.attrs[key]).size)
        return total


# ----- shapes --------------------------------------------------------------------------------

Shape = tuple[int, ...]


def _conv_out(size: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    return (size + p0 + p1 - (k - 1) * d - 1) // s + 1


def _shape_conv(node: Node, x: Shape, y: Shape | None) -> Shape:
    a = node.attrs
    w = a["weight"]
    t, l_, b, r = a["pads"]
    h = _conv_out(x[2], w.shape[2], a["strides"][0], a["dilations"][0], t, b)
    wd = _conv_out(x[3], w.shape[3], a["strides"][1], a["dilations"][1], l_, r)
    if h <= 0 or wd <= 0:
        raise UnsupportedModelError(None, f"conv {node.name!r} produces an empty output")
    return (x[0], int(w.shape[0]), h, wd)


def _shape_same(node: Node, x: Shape, y: Shape | None) -> Shape:
    return x


def _shape_broadcast(node: Node, x: Shape, y: Shape | None) -> Shape:
    assert y is not None
    return tuple(int(d) for d in np.broadcast_shapes(x, y))


def _shape_crop(node: Node, x: Shape, y: Shape | None) -> Shape:
    top, left, h, w = (int(d) for d in node.attrs["box"])
    if top < 0 or left < 0 or h <= 0 or w <= 0 or top + h > x[2] or left + w > x[3]:
        raise UnsupportedModelError(
            None, f"crop {node.name!r}: box {node.attrs['box']} outside a {x[2]}x{x[3]} map"
        )
    return (x[0], x[1], h, w)


SHAPE_RULES: dict[str, Callable[[Node, Shape, Shape | None], Shape]] = {
    "conv": _shape_conv,
    "relu": _shape_same,
    "clip": _shape_same,
    "hardswish": _shape_same,
    "hardsigmoid": _shape_same,
    "sigmoid": _shape_same,
    "add": _shape_broadcast,
    "sub": _shape_broadcast,
    "mul": _shape_broadcast,
    "div": _shape_broadcast,
    "global_avg_pool": lambda n, x, y: (x[0], x[1], 1, 1),
    "flatten": lambda n, x, y: (x[0], int(np.prod(x[1:]))),
    "dense": lambda n, x, y: (x[0], int(n.attrs["weight"].shape[0])),
    "reshape": lambda n, x, y: (x[0],) + tuple(int(d) for d in n.attrs["shape"]),
    "crop": _shape_crop,
    "resize_bilinear": lambda n, x, y: (x[0], x[1], *(int(d) for d in n.attrs["size"])),
}


def node_shape(node: Node, shapes: dict[str, Shape], consts: dict[str, np.ndarray]) -> Shape:
    """Output shape (batch written as 1) of one internal node."""

    def shp(name: str) -> Shape:
        return tuple(consts[name].shape) if name in consts else shapes[name]

    rule = SHAPE_RULES.get(node.op)
    if rule is None:
        raise ValueError(f"unknown internal op {node.op!r}")
    second = shp(node.inputs[1]) if OPS[node.op].arity == 2 else None
    return rule(node, shp(node.inputs[0]), second)


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    """Recompute every value's shape (batch = 1) from the nodes, e.g. after editing a graph."""
    shapes: dict[str, Shape] = {graph.input_name: tuple(graph.input_shape)}
    for n in graph.nodes:
        shapes[n.output] = node_shape(n, shapes, graph.constants)
    return shapes


WEIGHT_OPS: frozenset[str] = frozenset({"conv", "dense"})


def weight_depths(graph: Graph, ops: frozenset[str] = WEIGHT_OPS) -> dict[str, int]:
    """For each node's output, how many nodes of `ops` lie on the longest path from the input
    to it, itself included.

    Why: the export keeps "the first k layers" or "the last layer" of a network in higher
    precision. In a single chain (squeeze-excite branches included, as they sit on the path to
    their multiply) the depth of the k-th weight layer is k, as its rank in graph order would
    say; in a graph that runs several copies of a network side by side (training/multiview.py)
    the depth names the k-th layer of *every* copy, where graph order would name the first
    copy's layers only."""
    depth: dict[str, int] = {graph.input_name: 0}
    for n in graph.nodes:
        d = max(depth.get(i, 0) for i in n.inputs)
        depth[n.output] = d + (n.op in ops)
    return depth
