"""The firmware application generator (edgefact.pipeline.app), one generator for one or several
models: what the timed ef_app_run calls, the embedded inputs, the log names, input selection."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from edgefact.errors import EdgefactError
from edgefact.pipeline.app import AppModel, flatten_inputs, select_inputs, write_app


def _gen(header: str, in_type: str = "INT8", shapes: tuple[tuple[int, ...], ...] = ((1, 2, 3),)) -> Any:
    tensors = {i: SimpleNamespace(type_name=in_type, shape=s, name=f"in{i}") for i, s in enumerate(shapes)}
    tensors[99] = SimpleNamespace(type_name="INT8", shape=(1, 4), name="out")
    graph = SimpleNamespace(tensors=tensors, inputs=list(range(len(shapes))), outputs=[99])
    return SimpleNamespace(graph=graph, files={"model.h": Path("/gen") / header}, plan=SimpleNamespace(state_bytes=0))


def test_single_model_app_times_exactly_one_model_call(tmp_path: Path) -> None:
    gen = _gen("model.h")
    app = AppModel(gen, "ef_model", flatten_inputs(gen, np.arange(12).reshape(2, 2, 3)), "outputs", "m")
    model_c, inputs_c, header = write_app([app], tmp_path, log_outputs=False)
    text = model_c.read_text()
    run = text.split("int ef_app_run(void)")[1].split("}")[0]
    assert run.strip("{ \n") == "return ef_model_run(ef_model_app_inputs[0], ef_model_app_outputs[0]);"
    assert 'ef_log_checksum("outputs"' in text and 'ef_log_metric("inputs"' in text
    assert '"model"' not in text  # no model name in the single-model failure message
    h = header.read_text()
    assert "#define EF_MODEL_APP_NUM_INPUTS 2" in h and "#define EF_APP_LOG_OUTPUTS 0" in h
    assert '#include "model.h"' in h
    assert "{ /* input 1 */\n        6, 7, 8, 9, 10, 11," in inputs_c.read_text()


def test_several_models_one_app(tmp_path: Path) -> None:
    g0, g1 = _gen("ef_m0.h"), _gen("ef_m1.h", in_type="FLOAT32", shapes=((1, 2), (1, 1)))
    x1 = flatten_inputs(g1, [np.full((3, 2), 0.5, np.float32), np.zeros((3, 1), np.float32)])
    assert x1.shape == (3, 3)
    apps = [AppModel(g0, "ef_m0", flatten_inputs(g0, np.zeros((1, 6), np.int8)), "ef_m0", "kws"),
            AppModel(g1, "ef_m1", x1, "ef_m1", "ad")]
    model_c, inputs_c, header = write_app(apps, tmp_path)
    text = model_c.read_text()
    run = text.split("int ef_app_run(void)")[1].split("void ef_app_report")[0]
    assert "ef_m0_run(ef_m0_app_inputs[0]" in run and "return 2;" in run and "return 0;" in run
    assert 'ef_log_checksum("ef_m1"' in text and 'ef_log_metric("ef_m1_inputs"' in text
    assert 'ef_log_str("model", "ad");' in text
    assert "0.5f" in inputs_c.read_text() and '#include "ef_m1.h"' in header.read_text()
    with pytest.raises(EdgefactError, match="distinct prefixes and log names"):
        write_app([apps[0], apps[0]], tmp_path)


def test_input_checks_and_selection() -> None:
    gen = _gen("model.h")
    with pytest.raises(EdgefactError, match="needs 6 values per sample, got 4"):
        flatten_inputs(gen, np.zeros((2, 4)))
    with pytest.raises(EdgefactError, match="2 input arrays given for a model with 1 inputs"):
        flatten_inputs(gen, [np.zeros((1, 6)), np.zeros((1, 6))])
    model = SimpleNamespace(inputs=[0], tensors={0: SimpleNamespace(type_name="INT8", shape=(1, 2, 3))})
    x = select_inputs(model, None, 3, np.ones((2, 2, 3), np.int8))
    assert x.shape == (5, 2, 3) and np.all(x[3:] == 1)
    assert np.array_equal(select_inputs(model, None, 3, None), select_inputs(model, None, 3, None))  # deterministic
    with pytest.raises(EdgefactError, match="no inputs to run"):
        select_inputs(model, None, 0, None)


def test_a_model_can_read_an_earlier_models_inputs(tmp_path: Path) -> None:
    """A variant that runs a prefix of another model's inputs reads that model's embedded copy
    (the kernel harness's alternative kernels): no second copy, and a wrong reference is refused."""
    g0, g1 = _gen("ef_a.h"), _gen("ef_b.h")
    x = flatten_inputs(g0, np.arange(18).reshape(3, 6))
    first = AppModel(g0, "ef_a", x, "ef_a", "a")
    shared = AppModel(g1, "ef_b", x[:2], "ef_b", "b", inputs_of="ef_a")
    _, inputs_c, header = write_app([first, shared], tmp_path)
    h = header.read_text()
    assert "#define EF_B_APP_NUM_INPUTS 2" in h and "#define ef_b_app_inputs ef_a_app_inputs" in h
    assert "ef_b_app_inputs[" not in inputs_c.read_text()  # no copy of its own
    for bad in (AppModel(g1, "ef_b", x[:2] + 1, "ef_b", "b", inputs_of="ef_a"),  # other values
                AppModel(g1, "ef_b", np.concatenate([x, x[:1]]), "ef_b", "b", inputs_of="ef_a"),  # more rows
                AppModel(g1, "ef_b", x[:2], "ef_b", "b", inputs_of="ef_z")):  # no such model
        with pytest.raises(EdgefactError, match="reads the inputs of"):
            write_app([first, bad], tmp_path)
    with pytest.raises(EdgefactError, match="reads the inputs of"):  # a later model is not there yet
        write_app([shared, first], tmp_path)
