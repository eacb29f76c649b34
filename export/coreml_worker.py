"""Build and verify Core ML variants in a separate process: both ends of the protocol.

Why a plain subprocess and not multiprocessing: `nhkit export` converts TFLite variants (single-
threaded converter) while this process converts Core ML ones, which on 2 cores cuts the default
export's wall time by about a third. multiprocessing's spawn would re-import the caller's
`__main__` (a user script, `python -`, ...); a module run with `-m` has no such surprises, and the
parent can terminate it at once when the export fails.

Protocol (files only), written by `CoremlWorker` (the parent's end) and read by `run_job` (the
worker's end, `python -m nhkit.export.coreml_worker JOB`): JOB is a JSON file {onnx,
use_onnxsim, validation, cases, variants: [{name, work}]}, with the validation and self-test
tensors as .npy files. For each variant, in order, the worker writes `<work>/result.npz`
(embeddings, case_embeddings) and then `<work>/result.json` ({ok, error | model_src,
model_file, model_io, runtime, seconds}) by atomic rename, so the parent may read a variant as
soon as its JSON exists. The worker stops at the first failing variant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from nhkit.runtime.jsonfile import write_json_atomic

from .errors import ExportError
from .variant_build import BuiltVariant
from .variants import Variant

JOB_FILE = "job.json"
RESULT_JSON = "result.json"
RESULT_NPZ = "result.npz"


# ----- the parent's end ------------------------------------------------------------------------


class CoremlWorker:
    """`python -m nhkit.export.coreml_worker` running one export's Core ML variants."""

    def __init__(
        self,
        build_root: Path,
        onnx: Path,
        name: str,
        use_onnxsim: bool,
        variants: list[Variant],
        val_nchw: np.ndarray,
        case_nchw: np.ndarray,
    ) -> None:
        root = build_root / ".coreml-worker"
        root.mkdir()
        np.save(root / "validation.npy", val_nchw)
        np.save(root / "cases.npy", case_nchw)
        self.work = {v.key: build_root / f"{name}.{v.key}" for v in variants}
        job = {
            "onnx": str(onnx),
            "use_onnxsim": use_onnxsim,
            "validation": str(root / "validation.npy"),
            "cases": str(root / "cases.npy"),
            "variants": [{"name": v.name, "work": str(self.work[v.key])} for v in variants],
        }
        for w in self.work.values():
            w.mkdir()
        write_json_atomic(root / JOB_FILE, job)
        self.log = root / "worker.log"
        # Same thread settings as the parent: k-means palettization results depend on them.
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nhkit.export.coreml_worker", str(root / JOB_FILE)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )

    def result(self, variant: Variant, bundle_id: str) -> BuiltVariant:
        """Wait for one variant's result files (or the worker's death)."""
        work = self.work[variant.key]
        done = work / RESULT_JSON
        while not done.exists():
            if self.proc.poll() is not None and not done.exists():
                tail = self.log.read_text(encoding="utf-8", errors="replace").strip()
                tail = "\n    ".join(tail.splitlines()[-8:])
                raise ExportError(
                    f"{bundle_id}: the Core ML worker process exited with code "
                    f"{self.proc.returncode}:\n    {tail}"
                )
            time.sleep(0.1)
        res = json.loads(done.read_text(encoding="utf-8"))
        if not res["ok"]:
            raise ExportError(f"{bundle_id}: {res['error']}")
        with np.load(work / RESULT_NPZ) as z:
            emb, case_emb = z["embeddings"], z["case_embeddings"]
        return BuiltVariant(
            model_src=Path(res["model_src"]),
            model_file=res["model_file"],
            model_io=res["model_io"],
            runtime=res["runtime"],
            embeddings=emb,
            case_embeddings=case_emb,
            seconds=float(res["seconds"]),
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ----- the worker's end ------------------------------------------------------------------------


def run_job(job_path: str) -> int:
    """Run every variant of the job; a failing variant is reported and the worker stops."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    from .onnx_frontend import load_graph
    from .variant_build import build_and_run
    from .variants import get_variant

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = load_graph(job["onnx"], use_onnxsim=bool(job["use_onnxsim"]))
    validation = np.load(job["validation"], mmap_mode="r")
    cases = np.load(job["cases"])
    for item in job["variants"]:
        work = Path(item["work"])
        t = time.monotonic()
        try:
            built = build_and_run(
                graph, get_variant("coreml", item["name"]), work, None, validation, cases, None
            )
        except Exception as exc:  # reported to the parent, which raises it as ExportError
            write_json_atomic(
                work / RESULT_JSON, {"ok": False, "error": str(exc) or type(exc).__name__}
            )
            return 1
        np.savez(
            work / RESULT_NPZ, embeddings=built.embeddings, case_embeddings=built.case_embeddings
        )
        write_json_atomic(
            work / RESULT_JSON,
            {
                "ok": True,
                "model_src": str(built.model_src),
                "model_file": built.model_file,
                "model_io": built.model_io,
                "runtime": built.runtime,
                "seconds": time.monotonic() - t,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1]))
