"""Small int8 Keras LSTM models (UNIDIRECTIONAL_SEQUENCE_LSTM), converted with the stock
TFLiteConverter, cached under ``.cache/lstm_models``.

The conversion runs in a child process (``python tests/lstm_models.py OUT NAME...``): a converter
crash (the full-integer LSTM path has segfaulted before) fails the test that asked for the model
with the child's output instead of taking the test run down. Keras 2 (``tf_keras``, selected with
``TF_USE_LEGACY_KERAS=1``) is what converts: its LSTM carries the fused-op annotation the converter
turns into one UNIDIRECTIONAL_SEQUENCE_LSTM, where Keras 3's becomes a WHILE loop over resource
variables that the calibrator cannot run. Fixed batch and sequence length, converted from a
concrete function with a representative data set, int8 input and output. (A sigmoid cell
activation makes this converter segfault; the schema has no SIGMOID fused activation anyway, so
every convertible LSTM has a tanh cell gate.)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "lstm_models"
VERSION = "v1"


@dataclass(frozen=True)
class LstmConfig:
    steps: int
    features: int
    units: int
    batch: int = 1
    time_major: bool = False
    input_range: float = 1.0  # representative inputs uniform in [-r, r]
    cell_clip: float | None = None  # written into the converted model's options when set
    seed: int = 0


CONFIGS: dict[str, LstmConfig] = {
    "seq5_f3_u4": LstmConfig(5, 3, 4),
    "seq8_f10_u16": LstmConfig(8, 10, 16, input_range=3.0, seed=1),  # dot products' main loops and tails
    "stream_f7_u9": LstmConfig(1, 7, 9, seed=2),  # one step per invocation: the state carries the stream
    "clip_batch2": LstmConfig(3, 5, 6, batch=2, input_range=4.0, cell_clip=0.25, seed=4),
    "time_major_batch2": LstmConfig(3, 4, 5, batch=2, time_major=True, seed=5),
}


def _key(name: str) -> str:
    return hashlib.sha256(f"{name}|{CONFIGS[name]}|{version('tensorflow')}|{VERSION}".encode()).hexdigest()[:16]


def lstm_model_path(name: str) -> Path:
    """The cached .tflite of ``CONFIGS[name]``, converted (in a child process) on first use, with
    every other missing model in the same child."""
    path = CACHE / f"{name}-{_key(name)}.tflite"
    if path.is_file():
        return path
    missing = [n for n in CONFIGS if not (CACHE / f"{n}-{_key(n)}.tflite").is_file()]
    CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run([sys.executable, str(Path(__file__)), str(CACHE), *missing], env=env, capture_output=True,
                       text=True, timeout=900)
    if r.returncode != 0 or not path.is_file():
        raise RuntimeError(f"converting the int8 LSTM models failed (exit {r.returncode}):\n"
                           f"{(r.stdout + r.stderr)[-3000:]}")
    return path


def _convert(cfg: LstmConfig) -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(cfg.seed)
    shape = (cfg.steps, cfg.batch, cfg.features) if cfg.time_major else (cfg.batch, cfg.steps, cfg.features)
    inp = tf.keras.Input(shape[1:], batch_size=shape[0])
    out = tf.keras.layers.LSTM(cfg.units, return_sequences=True, unroll=False, time_major=cfg.time_major)(inp)
    model = tf.keras.Model(inp, out)

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
    def run(x):  # type: ignore[no-untyped-def]
        return model(x)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([run.get_concrete_function()], model)
    rng = np.random.default_rng(cfg.seed)

    def rep():  # type: ignore[no-untyped-def]
        for _ in range(32):
            yield [rng.uniform(-cfg.input_range, cfg.input_range, shape).astype(np.float32)]

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    return data if cfg.cell_clip is None else _with_cell_clip(data, cfg.cell_clip)


def _with_cell_clip(data: bytes, clip: float) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    m = s.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for op in m.subgraphs[0].operators:
        if isinstance(op.builtinOptions, s.UnidirectionalSequenceLSTMOptionsT):
            op.builtinOptions.cellClip = clip
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _main(out: Path, names: list[str]) -> None:
    for name in names:
        tmp = out / f".{name}-{_key(name)}.tmp"
        tmp.write_bytes(_convert(CONFIGS[name]))
        tmp.replace(out / f"{name}-{_key(name)}.tflite")


if __name__ == "__main__":
    _main(Path(sys.argv[1]), sys.argv[2:])
