"""onnxruntime backend: the fp32 reference every device variant is measured against."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..spec import EMBEDDING_DIM, INPUT_SIZE
from .base import check_batch, check_embeddings


def _dims(shape: list[object]) -> list[object]:
    return [d if isinstance(d, int) else (d or "?") for d in shape]


class OnnxBackend:
    """Runs a NeuralHash-format ONNX model (input [N|1,3,360,360] float32, 128 floats out).

    The interface is checked at load time so a wrong model fails with what was expected and what
    was found, rather than with an onnxruntime shape error on the first image."""

    name = "onnxruntime"

    def __init__(self, model_path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(model_path)
        if not self.path.is_file():
            raise ModelError(self.path, "model file not found")
        opts = ort.SessionOptions()
        # No busy-waiting between ops: the Hasher decodes and resizes on other threads while
        # the model runs, and spinning inference threads starved them (103 -> 135 images/s on
        # 2 cores, benchmarks/throughput.py).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            msg = str(exc).splitlines()[0][:300]
            raise ModelError(self.path, f"not a loadable ONNX model: {msg}") from None
        self.threads = threads
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1:
            raise ModelError(
                self.path,
                f"expected 1 input 'image' "
                f"[1,3,{INPUT_SIZE},{INPUT_SIZE}], "
                f"found {len(inputs)} inputs: {[i.name for i in inputs]}",
            )
        inp = inputs[0]
        shape = list(inp.shape)
        if (
            len(shape) != 4
            or shape[1:] != [3, INPUT_SIZE, INPUT_SIZE]
            or inp.type != "tensor(float)"
        ):
            raise ModelError(
                self.path,
                f"expected input float32 [1,3,{INPUT_SIZE},{INPUT_SIZE}] "
                f"(NCHW), found {inp.type} {_dims(shape)} named {inp.name!r}",
            )
        self.input_name = inp.name
        self.batchable = not isinstance(shape[0], int)
        out = outputs[0]
        oshape = list(out.shape)
        flat = 1
        for d in oshape[1:]:
            flat = flat * d if isinstance(d, int) else -1
        if len(outputs) != 1 or flat != EMBEDDING_DIM:
            raise ModelError(
                self.path,
                f"expected one output of {EMBEDDING_DIM} floats, found "
                f"{[(o.name, _dims(list(o.shape))) for o in outputs]}",
            )
        self.output_name = out.name

    def embed(self, batch: np.ndarray) -> np.ndarray:
        b = check_batch(batch)
        if self.batchable or b.shape[0] == 1:
            out = self.session.run([self.output_name], {self.input_name: b})[0]
            return check_embeddings(
                np.asarray(out).reshape(b.shape[0], -1), b.shape[0], str(self.path)
            )
        rows = [
            self.session.run([self.output_name], {self.input_name: b[i : i + 1]})[0]
            for i in range(b.shape[0])
        ]
        return check_embeddings(
            np.concatenate([np.asarray(r).reshape(1, -1) for r in rows]), b.shape[0], str(self.path)
        )

    def describe(self) -> dict[str, object]:
        import onnxruntime as ort

        return {
            "name": "onnxruntime",
            "version": ort.__version__,
            "compute_unit": "cpu",
            "threads": self.threads or 0,
        }
