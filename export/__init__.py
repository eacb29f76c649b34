"""nhkit export: ONNX -> Core ML and TFLite device bundles (needs the `export` extra)."""
