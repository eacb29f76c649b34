"""Core ML ML-program executor: run an exported .mlpackage without a Mac."""
