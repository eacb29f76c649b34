"""Models and their `model.json`: the models that ship inside the nhkit package
(runtime/models/<name>/) and the metadata a trainer writes next to any ONNX file.

One reader for `model.json` (the exporter and the runtime both use it), because the name,
fragile margin, seed sha256 and weights fingerprint it records decide what a hash means."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError, NhkitError

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_NAME = "nhkit-mnv3s-v3"
MODEL_JSON = "model.json"
# The ONNX metadata property training/to_onnx.py writes with the seed's sha256.
ONNX_SEED_PROPERTY = "nhkit.seed_sha256"


@dataclass(frozen=True)
class ModelMetadata:
    """What a `model.json` says about its model (all optional: a bare ONNX file has none)."""

    name: str | None = None
    fragile_margin: float | None = None
    seed_sha256: str | None = None
    fingerprint: str | None = None
    info: dict[str, Any] | None = None


def read_model_json(model_path: str | os.PathLike[str]) -> ModelMetadata:
    """The `model.json` next to an ONNX file, if there is one; a malformed one is a ModelError.

    The seed hash is `seed_sha256` (sha256 of the seed.f32 bytes), the fingerprint `fingerprint`
    (docs/bundle-format.md), as training/to_onnx.py writes them."""
    from .jsonfile import read_json

    meta = Path(model_path).with_name(MODEL_JSON)
    if not meta.is_file():
        return ModelMetadata()
    try:
        info = read_json(meta, what="model metadata")
    except NhkitError as exc:
        raise ModelError(meta, f"unreadable model metadata: {exc}") from None
    if not isinstance(info, dict):
        raise ModelError(meta, "model metadata must be a JSON object")

    def text(key: str) -> str | None:
        value = info.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ModelError(meta, f"{key}: expected a non-empty string, got {value!r}")
        return value.lower() if key in ("seed_sha256", "fingerprint") else value

    margin = info.get("fragile_margin")
    if margin is not None and (
        isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 0
    ):
        raise ModelError(meta, f"fragile_margin: expected a number >= 0, got {margin!r}")
    return ModelMetadata(
        name=text("name"),
        fragile_margin=None if margin is None else float(margin),
        seed_sha256=text("seed_sha256"),
        fingerprint=text("fingerprint"),
        info=info,
    )


def recorded_seed_sha256(
    model_path: str | os.PathLike[str], meta: ModelMetadata | None = None
) -> str | None:
    """The sha256 of the seed a model was trained with, when the model says so: `model.json`'s
    `seed_sha256`, else the ONNX metadata property `nhkit.seed_sha256`."""
    meta = meta if meta is not None else read_model_json(model_path)
    if meta.seed_sha256 is not None:
        return meta.seed_sha256
    from .onnx_wire import read_onnx_weights

    try:
        value = read_onnx_weights(model_path).metadata.get(ONNX_SEED_PROPERTY)
    except ModelError:  # the model itself is checked (with a clear error) where it is loaded
        return None
    return value.lower() if value else None


@dataclass(frozen=True)
class ShippedModel:
    name: str
    onnx: Path
    seed: Path
    fragile_margin: float
    meta: ModelMetadata


def installed_models() -> list[str]:
    """Names of the models this install carries, sorted (the default among them)."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "model.onnx").is_file())


def shipped_model_with_fingerprint(fingerprint: str) -> str | None:
    """The name of the installed model whose weights have this fingerprint, if any: lets an
    error about a list made with an older default name the `--model` that reads it."""
    for name in installed_models():
        try:
            if read_model_json(MODELS_DIR / name / "model.onnx").fingerprint == fingerprint:
                return name
        except NhkitError:
            continue
    return None


def model_name_argument(value: str | os.PathLike[str] | None) -> str | None:
    """The shipped model a `--model` value names, or None when it is a path (or absent).

    A value is a name when it is not an existing path, has no folder part and no `.onnx`
    suffix: `--model nhkit-mnv3s-v1` keeps an older default loadable without the user
    finding its files, while any real path keeps meaning that file. A name that no
    installed model has is still returned, so `shipped_model` can say which ones exist."""
    if value is None:
        return None
    text = os.fspath(value)
    if not text or os.path.exists(text) or os.sep in text or "/" in text:
        return None
    if text.lower().endswith(".onnx"):
        return None
    return text


def shipped_model(name: str = DEFAULT_MODEL_NAME) -> ShippedModel:
    """Locate a packaged model; a clear error if this install does not carry it."""
    folder = MODELS_DIR / name
    onnx, seed = folder / "model.onnx", folder / "seed.f32"
    if not onnx.is_file() or not seed.is_file():
        available = installed_models()
        raise ModelError(
            folder,
            f"model {name!r} is not installed with this nhkit "
            f"(available: {available or 'none'}); pass --model M.onnx --seed S.dat",
        )
    meta = read_model_json(onnx)
    return ShippedModel(
        name=name, onnx=onnx, seed=seed, fragile_margin=meta.fragile_margin or 0.0, meta=meta
    )
