"""The one place that turns "a model file for target T" into an EmbeddingBackend.

Used by bundles (`nhkit hash --bundle`, `nhkit selftest`, golden checks) and by the exporter's
verification, so a variant is verified with exactly the engine and the input checks a bundle
reader later uses. Engines are imported lazily: each target's runtime is optional."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import NhkitError
from .base import EmbeddingBackend

if TYPE_CHECKING:
    from ..bundle import Bundle

TARGETS: tuple[str, ...] = ("onnx", "tflite", "coreml")


def open_backend(
    target: str,
    model_path: str | os.PathLike[str],
    *,
    threads: int | None = None,
    input_spec: Mapping[str, Any] | None = None,
    output_spec: Mapping[str, Any] | None = None,
) -> EmbeddingBackend:
    """An engine running the model file of `target` on this machine.

    `input_spec` / `output_spec` are a bundle manifest's input and output entries (name, shape,
    dtype, layout, quantization): the engine checks them against the model, so a manifest that
    would mislead a device (which feeds and reads the model as the manifest says) fails here
    instead of on the device."""
    if target == "onnx":
        from .onnx import OnnxBackend

        return OnnxBackend(model_path, threads=threads)
    if target == "tflite":
        from .tflite import TfliteBackend

        return TfliteBackend(
            model_path, threads=threads, input_spec=input_spec, output_spec=output_spec
        )
    if target == "coreml":
        from .coreml import CoreMLBackend

        return CoreMLBackend(model_path, input_spec=input_spec, output_spec=output_spec)
    raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")


def bundle_backend(
    bundle: Bundle, requested: str | None = None, *, threads: int | None = None
) -> EmbeddingBackend:
    """The engine for a verified bundle: its own target's. `requested` (a --backend flag) may
    only restate the target (a TFLite file cannot run on Core ML), so a wrong flag fails with
    the reason."""
    target = bundle.target
    if requested is not None and requested != target:
        raise NhkitError(
            f"{bundle.source}: bundle {bundle.bundle_id} holds a {target} model; "
            f"--backend {requested} cannot run it (use --backend {target})"
        )
    return open_backend(
        target,
        bundle.model_path,
        threads=threads,
        input_spec=None if target == "onnx" else bundle.input,
        output_spec=None if target == "onnx" else bundle.output,
    )
