"""Build and verify Core ML variants in a separate process:
`python -m nhkit.export.coreml_worker JOB`.

Why a plain subprocess and not multiprocessing: `nhkit export` converts TFLite variants (single-
threaded converter) while this process converts Core ML ones, which on 2 cores cuts the default
export's wall time by about a third. multiprocessing's spawn would re-import the caller's
`__main__` (a user script, `python -`, ...); a module run with `-m` has no such surprises, and the
parent can terminate it at once when the export fails.

Protocol (files only): JOB is a JSON file {onnx, use_onnxsim, validation, cases, variants:
[{name, work}]}. For each variant, in order, the worker writes `<work>/result.npz` (embeddings,
case_embeddings) and then `<work>/result.json` ({ok, error | model_src, model_file, model_io,
runtime, seconds}) by atomic rename, so the parent may read a variant as soon as its JSON exists.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from nhkit.runtime.jsonfile import write_json_atomic


def run_job(job_path: str) -> int:
    """Run every variant of the job; a failing variant is reported and the worker stops."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    from .exporter import _build_and_run
    from .graph import load_graph
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
            built = _build_and_run(graph, get_variant("coreml", item["name"]), work, None,
                                   validation, cases, None)
        except Exception as exc:  # reported to the parent, which raises it as ExportError
            write_json_atomic(work / "result.json",
                              {"ok": False, "error": str(exc) or type(exc).__name__})
            return 1
        np.savez(work / "result.npz", embeddings=built.embeddings,
                 case_embeddings=built.case_embeddings)
        write_json_atomic(work / "result.json", {
            "ok": True, "model_src": str(built.model_src), "model_file": built.model_file,
            "model_io": built.model_io, "runtime": built.runtime,
            "seconds": time.monotonic() - t})
    return 0


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1]))
