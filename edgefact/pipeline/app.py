"""The firmware application that runs generated models on embedded inputs.

One generator serves single- and multi-model firmware: :func:`write_app` takes one
:class:`AppModel` per model (its generated code, symbol prefix, inputs and log name) and writes

* ``ef_app_inputs.h`` / ``ef_app_inputs.c``: every model's inputs, in flash;
* ``ef_app_model.c``: the template's application hooks (``ef_app.h``).

``ef_app_setup`` runs inputs 1..N-1 of every model once and keeps their outputs (a failure logs
the model, the input and the failing layer); ``ef_app_run`` -- the timed, per-layer profiled
part -- runs input 0 of every model; ``ef_app_report`` logs, per model, a CRC-32 of all its
outputs as the checksum record named ``log_name`` and, when ``EF_APP_LOG_OUTPUTS`` is 1, the
outputs themselves under the same name. With one model ``ef_app_run`` returns that model's own
status (failing layer position + 1), so the timed code is exactly one model call; with several
it returns the 1-based index of the first model that failed.

A model with state kept between invocations (``GeneratedModel.plan.state_bytes``: a streaming
model) sees its inputs in order, as TFLM does: ``ef_app_setup`` runs inputs 0..N-1, and every
``ef_app_run`` calls ``<prefix>_reset()`` before input 0, so each timed or warm-up run repeats
the stream's first step and leaves output 0 unchanged (the timed count includes the reset).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.codegen import GeneratedModel
from edgefact.export.dtypes import dtype, np_dtype
from edgefact.export.tflite_model import TFLiteModel
from edgefact.fsutil import atomic_write_text

DEFAULT_RANDOM_INPUTS = 4


def np_type(type_name: str) -> Any:
    """The numpy dtype of a tensor type of the generated code's boundary (:mod:`edgefact.export.dtypes`)."""
    return np_dtype(type_name)


def default_inputs(model: TFLiteModel, n: int = DEFAULT_RANDOM_INPUTS, seed: int = 0) -> np.ndarray | list[np.ndarray]:
    """``n`` deterministic random inputs covering the whole range of an integer input type (int8,
    uint8, int16), or [-1, 1) for float.

    One (N, ...) array, or a list of them (one per model input) for multi-input models.
    """
    rng = np.random.default_rng(seed)
    arrays: list[np.ndarray] = []
    for idx in model.inputs:
        t = model.tensors[idx]
        shape = (n, *t.shape[1:]) if t.shape and t.shape[0] == 1 else (n, *t.shape)
        if t.type_name != "FLOAT32":
            info = np.iinfo(np_dtype(t.type_name))
            arrays.append(rng.integers(info.min, info.max, shape, endpoint=True, dtype=np_dtype(t.type_name)))
        else:
            arrays.append(rng.uniform(-1.0, 1.0, shape).astype(np.float32))
    return arrays[0] if len(arrays) == 1 else arrays


def select_inputs(model: TFLiteModel, inputs: np.ndarray | list[np.ndarray] | None, n_random: int,
                  real_inputs: np.ndarray | None) -> np.ndarray | list[np.ndarray]:
    """The inputs a deployment embeds: ``inputs`` as given, else ``n_random`` random inputs
    followed by ``real_inputs`` (single-input models; multi-input models get random ones only)."""
    if inputs is None:
        if len(model.inputs) > 1:
            if n_random <= 0:
                raise EdgefactError("no inputs to run: give inputs or n_random > 0")
            return default_inputs(model, n_random)
        parts = [np.asarray(default_inputs(model, n_random))] if n_random > 0 else []
        if real_inputs is not None:
            parts.append(np.asarray(real_inputs))
        if not parts:
            raise EdgefactError("no inputs to run: give inputs, real_inputs or n_random > 0")
        return np.concatenate(parts)
    if isinstance(inputs, list | tuple):
        return list(inputs)
    return np.asarray(inputs)


def flatten_inputs(gen: GeneratedModel, inputs: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """(N, INPUT_SIZE): the model inputs of each sample back to back, as ``<prefix>_run`` reads them."""
    g = gen.graph
    arrays = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    if len(arrays) != len(g.inputs):
        raise EdgefactError(f"{len(arrays)} input arrays given for a model with {len(g.inputs)} inputs; "
                            "pass one (N, ...) array per model input")
    dt = np_type(g.tensors[g.inputs[0]].type_name)
    n = len(arrays[0])
    flat = []
    for a, t in zip(arrays, g.inputs, strict=True):
        a = np.ascontiguousarray(a, dtype=dt).reshape(n, -1)
        size = int(np.prod(g.tensors[t].shape))
        if a.shape[1] != size:
            raise EdgefactError(f"input '{g.tensors[t].name}' needs {size} values per sample, got {a.shape[1]}")
        flat.append(a)
    return np.concatenate(flat, axis=1)


@dataclass(frozen=True)
class AppModel:
    """One model of the application: its generated code under ``prefix`` and its flat inputs."""

    gen: GeneratedModel
    prefix: str  # the symbol prefix the code was generated with (ef_model by default)
    inputs: np.ndarray  # (N, INPUT_SIZE), from flatten_inputs
    log_name: str  # name of its checksum and outputs records
    label: str = ""  # model name in failure messages
    #: the prefix of an earlier model of the application whose embedded inputs this one reads
    #: instead of a copy of its own (the same input type and size, at least as many rows, the
    #: first n_inputs of them equal to ``inputs``); "" for its own copy
    inputs_of: str = ""

    @property
    def n_inputs(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def header(self) -> str:
        return self.gen.files["model.h"].name

    @property
    def stateful(self) -> bool:
        """Whether the model keeps state between invocations (its inputs are a stream)."""
        return self.gen.plan.state_bytes > 0


def _input_rows(flat: np.ndarray, integer: bool) -> str:
    """C initializer rows, one braced row per sample."""
    fmt = (lambda v: str(int(v))) if integer else (lambda v: f"{float(v)!r}f")
    rows = []
    for i in range(flat.shape[0]):
        vals = [fmt(v) for v in flat[i].tolist()]
        lines = ["        " + ", ".join(vals[k:k + 20]) + "," for k in range(0, len(vals), 20)]
        rows += [f"    {{ /* input {i} */", *lines, "    },"]
    return "\n".join(rows)


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_shared_inputs(models: Sequence[AppModel]) -> None:
    """Every ``inputs_of`` names an earlier model with its own copy whose rows begin with this
    model's inputs (same type and values per sample, at least as many rows): else the firmware would run on
    other inputs than the reference's."""
    own: dict[str, AppModel] = {}
    for m in models:
        if m.inputs_of:
            src = own.get(m.inputs_of)
            if (src is None or src.inputs.dtype != m.inputs.dtype or src.inputs.shape[1] != m.inputs.shape[1]
                    or src.n_inputs < m.n_inputs or not np.array_equal(src.inputs[:m.n_inputs], m.inputs)):
                raise EdgefactError(f"model '{m.prefix}' reads the inputs of '{m.inputs_of}', which is not an "
                                    "earlier model with its own copy starting with the same inputs")
        else:
            own[m.prefix] = m


def _inputs_files(models: Sequence[AppModel], log_outputs: bool) -> tuple[str, str]:
    n_all = sum(m.n_inputs for m in models)
    head = [f"/* Generated by edgefact: {n_all} model inputs embedded in flash. */",
            "#ifndef EF_APP_INPUTS_H", "#define EF_APP_INPUTS_H", "", "#include <stdint.h>", ""]
    head += [f'#include "{m.header}"' for m in models]
    head += ["", "#ifndef EF_APP_LOG_OUTPUTS", f"#define EF_APP_LOG_OUTPUTS {1 if log_outputs else 0}", "#endif", ""]
    body = [f"/* Generated by edgefact: {n_all} model inputs. */", '#include "ef_app_inputs.h"', ""]
    for m in models:
        p, up = m.prefix, m.prefix.upper()
        if m.inputs_of:  # the rows of an earlier model's copy
            head += [f"#define {up}_APP_NUM_INPUTS {m.n_inputs}", f"#define {p}_app_inputs {m.inputs_of}_app_inputs",
                     ""]
            continue
        head += [f"#define {up}_APP_NUM_INPUTS {m.n_inputs}",
                 f"extern const {p}_input_t {p}_app_inputs[{up}_APP_NUM_INPUTS][{up}_INPUT_SIZE];", ""]
        integer = not dtype(m.gen.graph.tensors[m.gen.graph.inputs[0]].type_name).is_float
        body += [f"const {p}_input_t {p}_app_inputs[{up}_APP_NUM_INPUTS][{up}_INPUT_SIZE] = {{",
                 _input_rows(m.inputs, integer), "};", ""]
    head += ["#endif", ""]
    return "\n".join(head), "\n".join(body)


def _app_file(models: Sequence[AppModel]) -> str:
    single = len(models) == 1
    out = ["/* Generated by edgefact: runs the models on their embedded inputs and logs the outputs. */",
           "#include <stddef.h>", "#include <stdint.h>", "", '#include "ef_app.h"', '#include "ef_app_inputs.h"',
           '#include "ef_log.h"', "",
           "/* outputs of every embedded input: inputs 1.. are run once in ef_app_setup(), input 0 is the",
           " * one every (timed) ef_app_run() infers */"]
    out += [f"static {m.prefix}_output_t {m.prefix}_app_outputs[{m.prefix.upper()}_APP_NUM_INPUTS]"
            f"[{m.prefix.upper()}_OUTPUT_SIZE];" for m in models]
    out += ["", "int ef_app_setup(void)", "{"]
    for m in models:
        p, up = m.prefix, m.prefix.upper()
        first = 0 if m.stateful else 1  # a streaming model sees every input, in order
        out += [f"    for (int i = {first}; i < {up}_APP_NUM_INPUTS; ++i) {{",
                f"        int rc = {p}_run({p}_app_inputs[i], {p}_app_outputs[i]);",
                "        if (rc != 0) {",
                '            ef_log_begin("msg");',
                f'            ef_log_str("text", "{p}_run failed");']
        if not single:
            out.append(f'            ef_log_str("model", {_c_string(m.label or p)});')
        out += ['            ef_log_int("input", i);', '            ef_log_int("layer_position", rc - 1);',
                "            ef_log_end();", "            return rc;", "        }", "    }"]
    out += ["    return 0;", "}", "", "int ef_app_run(void)", "{"]
    if single:
        p = models[0].prefix
        if models[0].stateful:
            out.append(f"    {p}_reset();")
        out.append(f"    return {p}_run({p}_app_inputs[0], {p}_app_outputs[0]);")
    else:
        for k, m in enumerate(models):
            p = m.prefix
            if m.stateful:
                out.append(f"    {p}_reset();")
            out += [f"    if ({p}_run({p}_app_inputs[0], {p}_app_outputs[0]) != 0) {{", f"        return {k + 1};",
                    "    }"]
        out.append("    return 0;")
    out += ["}", "", "void ef_app_report(void)", "{"]
    for m in models:
        p, up = m.prefix, m.prefix.upper()
        metric = "" if single else f"{m.log_name}_"
        out += [f'    ef_log_metric("{metric}inputs", {up}_APP_NUM_INPUTS);',
                f'    ef_log_metric("{metric}arena_bytes", {up}_ARENA_SIZE);',
                f'    ef_log_checksum("{m.log_name}", ef_crc32({p}_app_outputs, sizeof {p}_app_outputs));',
                "#if EF_APP_LOG_OUTPUTS",
                f'    ef_log_output_i8("{m.log_name}", (const int8_t *)(const void *){p}_app_outputs, '
                f"sizeof {p}_app_outputs);",
                "#endif"]
    out += ["}", ""]
    return "\n".join(out)


def write_app(models: Sequence[AppModel], app_dir: Path, log_outputs: bool = True) -> list[Path]:
    """Write the application and the embedded inputs of ``models``; return the two C sources
    (``ef_app_model.c``, ``ef_app_inputs.c``) and the header."""
    if not models:
        raise EdgefactError("an application needs at least one model")
    names = [m.log_name for m in models]
    if len(set(names)) != len(names) or len({m.prefix for m in models}) != len(models):
        raise EdgefactError(f"the models of one firmware need distinct prefixes and log names, got {names}")
    _check_shared_inputs(models)
    header, inputs_c = _inputs_files(models, log_outputs)
    app_dir.mkdir(parents=True, exist_ok=True)
    return [atomic_write_text(app_dir / "ef_app_model.c", _app_file(models)),
            atomic_write_text(app_dir / "ef_app_inputs.c", inputs_c),
            atomic_write_text(app_dir / "ef_app_inputs.h", header)]
