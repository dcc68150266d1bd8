"""Streaming models: state kept between invocations (resource variables with a CALL_ONCE
initialisation), bit-exact with TFLM running the same samples in order on one interpreter, on the
host and on the emulated cortex-m4 and cortex-m55; ``<prefix>_reset()`` restarts the stream.

The models are tiny ``tf.Module``s with ``tf.Variable`` state, converted full-int8 with resource
variables enabled, cached under ``.cache/stateful/``.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
from shared_paths import require_arm_tools

from edgefact.errors import UnsupportedOpError
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import kernel_library, run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.memplan import check_plan
from edgefact.export.reference import run_tflm, tflm_arena_bytes
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir
from edgefact.fsutil import atomic_write_bytes
from edgefact.pipeline.app import AppModel, flatten_inputs, write_app

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "stateful"
BUILDER_VERSION = 1  # bump when a builder changes
N_STEPS = 40  # invocations per stream on the host


def _two_variables() -> bytes:
    """y = tanh(x W + 0.5 s + a V); s <- y (initialised to random values); a <- 0.9 a + 0.1 x[:4]
    (initialised to 0.25): two float resource variables, QUANTIZE/DEQUANTIZE at their edges."""
    import tensorflow as tf

    rng = np.random.RandomState(3)

    class Stream(tf.Module):
        def __init__(self) -> None:
            self.s = tf.Variable(rng.uniform(-0.5, 0.5, (1, 8)).astype(np.float32), trainable=False)
            self.a = tf.Variable(np.full((1, 4), 0.25, np.float32), trainable=False)
            self.w = tf.constant(rng.randn(8, 8).astype(np.float32) * 0.3)
            self.v = tf.constant(rng.randn(4, 8).astype(np.float32) * 0.3)

        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
        def __call__(self, x: tf.Tensor) -> tf.Tensor:
            a = self.a.read_value() * 0.9 + x[:, :4] * 0.1
            y = tf.nn.tanh(tf.matmul(x, self.w) + self.s.read_value() * 0.5 + tf.matmul(a, self.v))
            self.s.assign(y)
            self.a.assign(a)
            return y

    m = Stream()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m)
    conv.experimental_enable_resource_variables = True
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def rep():  # calibration: a stream, so the variables' ranges are the running ones
        r = np.random.RandomState(1)
        for _ in range(64):
            yield [r.uniform(-1, 1, (1, 8)).astype(np.float32)]

    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def _model(name: str) -> Path:
    import tensorflow as tf

    key = hashlib.sha256(f"{name}-{BUILDER_VERSION}-{tf.__version__}".encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{key}.tflite"
    if not path.is_file():
        atomic_write_bytes(path, {"two_variables": _two_variables}[name]())
    return path


@pytest.fixture(scope="module")
def stream_model() -> Path:
    return _model("two_variables")


def _stream(path: Path, n: int, seed: int) -> np.ndarray:
    m = load_tflite(path)
    shape = m.tensors[m.inputs[0]].shape[1:]
    x = np.random.default_rng(seed).integers(-128, 128, (n, *shape), dtype=np.int8)
    x[0], x[1] = 127, -128  # saturated steps
    return x


def test_the_model_keeps_state_in_resource_variables(stream_model: Path) -> None:
    m = load_tflite(stream_model)
    ops = m.op_names()
    assert m.subgraph_count == 2 and ops[0] == "CALL_ONCE"
    assert {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= set(ops)
    # the stream matters: a fresh interpreter per sample gives other outputs than one in order
    x = _stream(stream_model, 6, 1)
    in_order = run_tflm(stream_model, x)[0]
    fresh = np.concatenate([run_tflm(stream_model, x[i:i + 1])[0] for i in range(len(x))])
    assert np.array_equal(in_order[0], fresh[0]) and not np.array_equal(in_order[1:], fresh[1:])


def test_state_is_persistent_and_outside_the_arena(stream_model: Path, tmp_path: Path) -> None:
    gen = generate_c(stream_model, tmp_path)
    g, plan = gen.graph, gen.plan
    assert [v.name for v in g.state] and len(g.state) == 2
    init = {v.name: v.init for v in g.state}
    assert all(v is not None for v in init.values())  # both from the CALL_ONCE subgraph
    state = [b for b in plan.buffers if b.kind == "state"]
    assert len(state) == 2 and all(b.offset is None for b in state)  # not in the reused arena
    assert plan.state_bytes >= sum(b.size for b in state)
    assert sorted(b.io_offset for b in state) == [0, 32]  # 16-byte aligned, back to back
    check_plan(plan)
    h, c = gen.files["model.h"].read_text(), gen.files["model.c"].read_text()
    assert "void ef_model_reset(void);" in h and f"#define EF_MODEL_STATE_SIZE {plan.state_bytes}" in h
    assert "if (!ef_state_ready) {" in c and "memcpy(EF_STATE(float, " in c
    assert "ef_state0_init" in gen.files["model_data.c"].read_text()
    assert gen.arena_bytes + plan.state_bytes <= tflm_arena_bytes(stream_model)  # TFLM's arena holds both


def _edited(path: Path, edit: object) -> bytes:
    """The model at ``path`` after ``edit(ModelT)`` (flatbuffer object API)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    edit(m)  # type: ignore[operator]
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_an_initialisation_that_is_not_constant_is_refused(stream_model: Path) -> None:
    def computed_init(m: object) -> None:
        sub = m.subgraphs[1]  # type: ignore[attr-defined]
        assign = next(o for o in sub.operators if len(o.inputs) == 2)
        sub.tensors[assign.inputs[1]].buffer = 0  # the assigned value is no longer a constant
        sub.inputs = [assign.inputs[1]]

    with pytest.raises(UnsupportedOpError, match=r"CALL_ONCE.*initialisation subgraph 1 runs ASSIGN_VARIABLE"):
        lower(load_tflite(_edited(stream_model, computed_init)))


def test_control_flow_subgraphs_are_refused(stream_model: Path) -> None:
    def no_call_once(m: object) -> None:
        main = m.subgraphs[0]  # type: ignore[attr-defined]
        main.operators = [o for o in main.operators if not hasattr(o.builtinOptions, "initSubgraphIndex")]

    with pytest.raises(UnsupportedOpError, match="2 subgraphs; edgefact supports one subgraph plus CALL_ONCE"):
        lower(load_tflite(_edited(stream_model, no_call_once)))


def test_models_without_state_generate_no_state_code(tmp_path: Path) -> None:
    from codegen_util import MLPERF

    gen = generate_c(MLPERF["kws_dscnn"], tmp_path)
    assert gen.plan.state_bytes == 0 and not gen.graph.state
    assert "reset" not in gen.files["model.h"].read_text() and "ef_state" not in gen.files["model.c"].read_text()


def test_stream_is_bit_exact_with_tflm_on_the_host(stream_model: Path, tmp_path: Path) -> None:
    x = _stream(stream_model, N_STEPS, 2)
    gen = generate_c(stream_model, tmp_path)
    y = run_host_batch(gen, x)
    ref = run_tflm(stream_model, x)[0]
    assert np.array_equal(y, ref), f"{int((y != ref).sum())} values differ"


_RESET_DRIVER = r"""
#include <stdio.h>
#include <stdint.h>
#include "model.h"
/* Runs the stream of argv[1] (n samples) twice with ef_model_reset() in between, then its first
 * half once more after another reset; writes every output to argv[2]. */
int main(int argc, char **argv)
{
    static int8_t x[4096][EF_MODEL_INPUT_SIZE], y[EF_MODEL_OUTPUT_SIZE];
    long n = 0;
    FILE *fi = fopen(argv[1], "rb"), *fo = fopen(argv[2], "wb");
    (void)argc;
    while (n < 4096 && fread(x[n], sizeof x[n], 1, fi) == 1) ++n;
    for (int pass = 0; pass < 3; ++pass) {
        long end = pass == 2 ? n / 2 : n;
        if (pass > 0) ef_model_reset();
        for (long i = 0; i < end; ++i) {
            if (ef_model_run(x[i], y) != 0) return 2;
            fwrite(y, sizeof y, 1, fo);
        }
    }
    fclose(fi);
    fclose(fo);
    return 0;
}
"""


def test_reset_restarts_the_stream(stream_model: Path, tmp_path: Path) -> None:
    x = _stream(stream_model, 12, 4)
    gen = generate_c(stream_model, tmp_path / "gen")
    drv = tmp_path / "drv.c"
    drv.write_text(_RESET_DRIVER)
    exe = tmp_path / "reset"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-DEF_MODEL_NO_PROFILE",
                    f"-I{gen.files['model.c'].parent}", f"-I{kernel_include_dir()}", str(drv),
                    str(gen.files["model.c"]), str(gen.files["model_data.c"]), str(kernel_library()), "-o", str(exe)],
                   check=True, capture_output=True)
    (tmp_path / "in.bin").write_bytes(x.tobytes())
    subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    y = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8).reshape(-1, *x.shape[1:])
    ref = run_tflm(stream_model, x)[0]
    assert np.array_equal(y, np.concatenate([ref, ref, ref[:6]]))


def test_app_runs_a_stream_in_order(stream_model: Path, tmp_path: Path) -> None:
    gen = generate_c(stream_model, tmp_path / "gen")
    x = _stream(stream_model, 3, 5)
    write_app([AppModel(gen, "ef_model", flatten_inputs(gen, x), "outputs")], tmp_path / "app")
    app = (tmp_path / "app" / "ef_app_model.c").read_text()
    setup, run = app.split("int ef_app_setup(void)")[1].split("int ef_app_run(void)")
    assert "for (int i = 0; i < EF_MODEL_APP_NUM_INPUTS; ++i)" in setup
    assert run.split("void ef_app_report")[0].strip("{ \n}").splitlines()[0].strip() == "ef_model_reset();"


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m55"])
def test_stream_is_bit_exact_on_the_cores(stream_model: Path, tmp_path: Path, core: str) -> None:
    from edgefact.pipeline.deploy import deploy_tflite

    require_arm_tools()
    x = _stream(stream_model, 8, 6)
    rep = deploy_tflite(stream_model, core, tmp_path, inputs=x, timeout_s=120, write_report=False)
    assert rep["bitexact"]["equal"] and rep["bitexact"]["inputs"] == len(x)
