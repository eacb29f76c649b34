"""Core ML ML-program executor: run an exported .mlpackage without a Mac.

    from nhkit.runtime.coreml import MLProgram
    y = MLProgram.open("model.mlpackage").predict({"image": x})["embedding"]

Modules: `wire` (protobuf wire format), `mlmodel` (Model/MIL spec decoding), `blob` (weight.bin),
`ops` (numpy op implementations and weight decompression), `executor` (loading and running).
Needs only numpy; coremltools is not used at run time."""

from .executor import CoreMLPackageError, MLProgram, UnsupportedOpError

__all__ = ["CoreMLPackageError", "MLProgram", "UnsupportedOpError"]
