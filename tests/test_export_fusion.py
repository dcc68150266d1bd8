"""Table fusion (edgefact/export/fusion.py): x -> LOGISTIC -> MUL(x, sigmoid(x)) (the swish of
EfficientNet-style models), ADD / SUB of x and a table of x, and table after table, each become one
ef_lut_s8 table computed at generation time.

Converter-made models (TFLiteConverter, int8; cached like tests/opmodels.py) whose input covers
every int8 byte: the fused table equals TFLM's output for all 256 inputs, whole models are
bit-exact with TFLM on the host and in one Cortex-M55 and one Cortex-M4 firmware, and the
negative controls (the LOGISTIC also read by another operator; MUL by the sigmoid of another
tensor) are not fused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from opmodels import _BUILDERS, OpSpec, _cache_path, _tf, build_opmodel, check_opmodel
from ops_elementwise_util import all_bytes_input
from shared_paths import require_arm_tools

from edgefact.export.codegen import generate_c
from edgefact.export.fusion import binary_table, compose
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.ops.unary import LutArgs
from edgefact.export.reference import run_tflm
from edgefact.export.tflite_model import load_tflite
from edgefact.fsutil import atomic_write_bytes
from edgefact.pipeline.deploy import deploy_many

Fn = Callable[..., Any]


def _fn(make: Callable[[Any, np.random.Generator, dict[str, Any]], Fn], n_inputs: int = 1) -> Callable:
    def build(p: dict[str, Any], rng: np.random.Generator) -> tuple[Fn, list[tuple[int, ...]]]:
        return make(_tf(), rng, p), [tuple(p["shape"])] * n_inputs

    return build


def _conv_swish(tf: Any, rng: np.random.Generator, p: dict[str, Any]) -> Fn:
    w = tf.constant(rng.normal(0.0, 0.6, (1, 1, p["shape"][-1], 7)).astype(np.float32))

    def f(x: Any) -> Any:
        y = tf.nn.conv2d(x, w, strides=1, padding="VALID")
        return y * tf.sigmoid(y)

    return f


_BUILDERS.update({
    "fusion_swish": _fn(lambda tf, rng, p: lambda x: x * tf.sigmoid(x)),
    "fusion_swish_rev": _fn(lambda tf, rng, p: lambda x: tf.sigmoid(x) * x),
    "fusion_add_tanh": _fn(lambda tf, rng, p: lambda x: x + tf.tanh(x)),
    "fusion_sub_tanh": _fn(lambda tf, rng, p: lambda x: x - tf.tanh(x)),
    "fusion_chain": _fn(lambda tf, rng, p: lambda x: tf.sigmoid(tf.tanh(x))),
    "fusion_conv_swish": _fn(_conv_swish),
    # negative controls: the sigmoid read twice; MUL by the sigmoid of another tensor
    "fusion_shared": _fn(lambda tf, rng, p: lambda x: x * tf.sigmoid(x) + tf.sigmoid(x)),
    "fusion_other": _fn(lambda tf, rng, p: lambda x, y: x * tf.sigmoid(y), n_inputs=2),
})

ROW = (1, 256)  # one row holds every int8 byte (tests/ops_elementwise_util.all_bytes_input)
WIDE = ((-8.0, 8.0),)
#: case -> (spec, layers left after fusion, operators fused away)
CASES: dict[str, tuple[OpSpec, list[str], list[str]]] = {
    "swish": (OpSpec("MUL", "fusion_swish", dict(shape=ROW), ("LOGISTIC", "MUL"), WIDE), ["LOGISTIC"], ["LOGISTIC"]),
    "swish_rev": (OpSpec("MUL", "fusion_swish_rev", dict(shape=ROW), ("LOGISTIC", "MUL"), WIDE), ["LOGISTIC"],
                  ["LOGISTIC"]),
    "add_tanh": (OpSpec("ADD", "fusion_add_tanh", dict(shape=ROW), ("TANH", "ADD"), WIDE), ["TANH"], ["TANH"]),
    "sub_tanh": (OpSpec("SUB", "fusion_sub_tanh", dict(shape=ROW), ("TANH", "SUB"), WIDE), ["TANH"], ["TANH"]),
    "chain": (OpSpec("LOGISTIC", "fusion_chain", dict(shape=ROW), ("TANH", "LOGISTIC"), WIDE), ["LOGISTIC"],
              ["TANH"]),
    "conv_swish": (OpSpec("MUL", "fusion_conv_swish", dict(shape=(1, 5, 3, 4)), ("CONV_2D", "LOGISTIC", "MUL"),
                          ((-2.0, 2.0),)), ["CONV_2D", "LOGISTIC"], ["LOGISTIC"]),
    "shared": (OpSpec("ADD", "fusion_shared", dict(shape=ROW), ("LOGISTIC", "MUL", "ADD"), WIDE),
               ["LOGISTIC", "MUL", "ADD"], []),
    "other": (OpSpec("MUL", "fusion_other", dict(shape=ROW), ("LOGISTIC", "MUL"), WIDE), ["LOGISTIC", "MUL"], []),
}
ALL_BYTES = ("swish", "swish_rev", "add_tanh", "sub_tanh", "chain")


def _model(case: str) -> bytes:
    spec = CASES[case][0]
    cid = f"fusion_{case}"
    path = _cache_path(cid, spec)
    if path.is_file():
        return path.read_bytes()
    model = build_opmodel(cid, spec)
    check_opmodel(cid, spec, model)
    atomic_write_bytes(path, model)
    return model


def _inputs(case: str, n: int, seed: int) -> list[np.ndarray]:
    """Every byte in the first rows, then random rows (per model input)."""
    shape = CASES[case][0].params["shape"]
    rng = np.random.default_rng(seed)
    xs = []
    for k in range(2 if case == "other" else 1):
        if shape == ROW:
            x = np.concatenate([all_bytes_input(3), rng.integers(-128, 128, (n, *shape), dtype=np.int8)])
            xs.append(np.roll(x, 11 * k, axis=-1))
        else:
            xs.append(rng.integers(-128, 128, (n, *shape), dtype=np.int8))
    return xs


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_or_not_as_expected(case: str) -> None:
    _, layers, fused = CASES[case]
    graph = lower(load_tflite(_model(case)))
    assert [la.op for la in graph.layers] == layers
    assert [f.op.split()[0] for f in graph.folded] == fused
    if fused:
        last = graph.layers[-1]
        assert last.kernel == "ef_lut_s8" and isinstance(last.args, LutArgs) and "fused" in last.describe
        assert len(last.inputs) == 1 and last.weight_bytes == 256


@pytest.mark.parametrize("case", ALL_BYTES)
def test_fused_table_is_tflm_on_every_byte(case: str) -> None:
    model = _model(case)
    x = all_bytes_input(1)
    want = run_tflm(model, x)[0].reshape(-1)
    table = lower(load_tflite(model)).layers[-1].args.table
    got = table[x.reshape(-1).view(np.uint8)]
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{bad.size} bytes differ; first input {int(x.reshape(-1)[bad[0]])}"
    assert len(np.unique(want)) >= 32  # the table is not degenerate


def test_binary_table_mirrors_tflm_mul_with_a_clamp() -> None:
    """The MUL mirror's clamp and offsets by hand: x * x with an output clamp at [-3, 3]."""
    from edgefact.export import quant
    from edgefact.export.ops.elementwise import MulParams

    p = quant.mul_params(0.1, 2, 0.1, 2, 0.05, -1)
    params = MulParams(p.input1_offset, p.input2_offset, p.output_offset, p.output_multiplier, p.output_shift,
                       (-3, 3))
    ident = np.arange(256, dtype=np.int64)
    ident = np.where(ident >= 128, ident - 256, ident).astype(np.int8)
    t = binary_table("MUL", params, True, ident)
    x = ident.astype(np.int64)
    real = ((x - 2) * 0.1) ** 2 / 0.05 - 1
    assert np.array_equal(t, np.clip(np.floor(real + 0.5), -3, 3).astype(np.int8))
    assert np.array_equal(compose(t, ident), t)


@pytest.mark.parametrize("case", sorted(CASES))
def test_model_bitexact_on_host(case: str, tmp_path: Path) -> None:
    model = _model(case)
    xs = _inputs(case, 20, seed=3)
    gen = generate_c(model, tmp_path / "gen")
    got = run_host_batch(gen, xs if len(xs) > 1 else xs[0])
    want = run_tflm(model, xs if len(xs) > 1 else xs[0])[0]
    assert np.array_equal(np.asarray(got).reshape(want.shape), want)
    plan = (tmp_path / "gen" / "plan.txt").read_text()
    for op in CASES[case][2]:
        assert f"folded at generation time: {op} (into the table of" in plan


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("core", ["cortex-m55", "cortex-m4"])
def test_models_bitexact_in_firmware(core: str, tmp_path: Path) -> None:
    require_arm_tools()
    models = []
    for case in sorted(CASES):
        path = tmp_path / f"{case}.tflite"
        path.write_bytes(_model(case))
        models.append((case, path, _inputs(case, 3, seed=9)))
    res = deploy_many(models, core, tmp_path / core, timeout_s=300)
    assert set(res) == set(CASES)
    bad = [name for name, r in res.items() if r["checksum"] != r["reference_checksum"]]
    assert not bad, f"{core}: differ from TFLM: {bad}"
