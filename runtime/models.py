"""The models that ship inside the nhkit package (runtime/models/<name>/)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_NAME = "nhkit-mnv3s-v1"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    onnx: Path
    seed: Path
    fragile_margin: float
    info: dict[str, object]


def shipped_model(name: str = DEFAULT_MODEL_NAME) -> ShippedModel:
    """Locate a packaged model; a clear error if this install does not carry it."""
    folder = MODELS_DIR / name
    onnx, seed = folder / "model.onnx", folder / "seed.f32"
    if not onnx.is_file() or not seed.is_file():
        available = sorted(p.name for p in MODELS_DIR.glob("*") if (p / "model.onnx").is_file()) \
            if MODELS_DIR.is_dir() else []
        raise ModelError(folder, f"model {name!r} is not installed with this nhkit "
                         f"(available: {available or 'none'}); pass --model M.onnx --seed S.dat")
    info: dict[str, object] = {}
    meta = folder / "model.json"
    if meta.is_file():
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(meta, f"unreadable model metadata: {exc}") from None
    margin = float(info.get("fragile_margin", 0.0))  # type: ignore[arg-type]
    return ShippedModel(name=name, onnx=onnx, seed=seed, fragile_margin=margin, info=info)
