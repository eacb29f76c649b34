"""Build one variant (TFLite or Core ML) from the internal graph and run it on this machine.

Shared by the exporter (TFLite variants, and Core ML ones in a serial export) and the Core ML
worker process (coreml_worker.py), so a variant is built and measured the same way in both."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nhkit.runtime.backends.factory import open_backend

from .errors import ExportError
from .ir import Graph
from .quiet import quiet_native_output
from .variants import Variant
from .verify import ImageSet, embed_all


@dataclass
class BuiltVariant:
    """A converted variant and its embeddings of the validation and self-test inputs."""

    model_src: Path
    model_file: str
    model_io: dict[str, Any]
    runtime: dict[str, str]
    embeddings: np.ndarray
    case_embeddings: np.ndarray
    seconds: float


def build_and_run(
    graph: Graph,
    variant: Variant,
    work: Path,
    cal: ImageSet | None,
    val_nchw: np.ndarray,
    case_nchw: np.ndarray,
    threads: int | None,
) -> BuiltVariant:
    """Convert one variant and run it on the validation and self-test inputs."""
    t = time.monotonic()
    work.mkdir(exist_ok=True)
    model_src, model_file, model_io, runtime = build_variant(graph, variant, work, cal)
    backend = open_backend(
        variant.target,
        model_src,
        threads=threads,
        input_spec=model_io["inputs"][0],
        output_spec=model_io["outputs"][0],
    )
    return BuiltVariant(
        model_src,
        model_file,
        model_io,
        runtime,
        embed_all(backend, val_nchw),
        embed_all(backend, case_nchw),
        time.monotonic() - t,
    )


def build_variant(
    graph: Graph, variant: Variant, work: Path, cal: ImageSet | None
) -> tuple[Path, str, dict[str, Any], dict[str, str]]:
    """Convert one variant into `work`; returns (model path, manifest model.file,
    manifest model block, manifest runtime block)."""
    if variant.target == "tflite":
        from nhkit.runtime.backends.tflite import input_lut

        from .tflite import build_tflite_variant, min_runtime_version

        path = work / "model.tflite"
        calibration = cal.nhwc() if (cal is not None and variant.calibrated) else None
        info = build_tflite_variant(graph, variant.name, path, calibration=calibration)
        inp = info.input.to_json()
        if inp["quantization"] is not None:
            q = inp["quantization"]
            inp["quantization"] = {
                "scale": q["scale"],
                "zero_point": q["zero_point"],
                "offset": q["offset"],
                "lut": input_lut(q["scale"], q["zero_point"], q["offset"]),
            }
        model_io = {"file": "model.tflite", "inputs": [inp], "outputs": [info.output.to_json()]}
        return (
            path,
            "model.tflite",
            model_io,
            {"name": "litert", "min_version": min_runtime_version(path)},
        )
    if variant.target == "coreml":
        try:
            from .coreml import (
                build_coreml_variant,
                coreml_model_io,
                deployment_target,
            )
        except ImportError as exc:
            raise ExportError(f"Core ML export is not available: {exc}") from None
        path = work / "model.mlpackage"
        with quiet_native_output():  # coremltools draws progress bars for every pass
            build_coreml_variant(graph, variant.name, path)
        io = coreml_model_io(graph)
        model_io = {"file": "model.mlpackage", "inputs": io["inputs"], "outputs": io["outputs"]}
        return (
            path,
            "model.mlpackage",
            model_io,
            {"name": "coreml", "min_version": deployment_target(variant.name)},
        )
    raise ExportError(f"unknown target {variant.target!r}")
