"""The operator registry (edgefact.export.ops) against the C library it describes.

- every parameter dataclass mirrors its C struct of ef_nn_types.h (field names and order);
- every kernel an entry names is declared in ef_nn.h, and every public kernel there is named;
- the scratch size an entry computes equals the C kernel's own ``*_get_buffer_size``, evaluated
  by a compiled program on every layer of the per-op models and the MLPerf Tiny models;
- lowering picks one of the entry's kernels, and a forced kernel must be one of them;
- ``edgefact ops`` lists every entry.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
from dataclasses import fields

import pytest
from click.testing import CliRunner
from codegen_util import MLPERF
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.errors import UnsupportedOpError
from edgefact.export import ops
from edgefact.export.codegen import generate_c
from edgefact.export.lowering import lower
from edgefact.export.ops import CStruct, all_ops, get_op, supported_ops
from edgefact.export.ops_cli import ops_cmd
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources

HEADER_DIR = kernel_include_dir()


def _c_structs() -> dict[str, list[str]]:
    """typedef struct { ... } name; -> field names, from the public headers."""
    text = "\n".join(p.read_text() for p in sorted(HEADER_DIR.glob("*.h")))
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out: dict[str, list[str]] = {}
    for body, name in re.findall(r"typedef struct\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
        names = []
        for decl in body.split(";"):
            decl = decl.strip()
            if decl:
                names.append(re.sub(r"\[.*\]", "", decl).split()[-1].lstrip("*"))
        out[name] = names
    return out


def _param_structs() -> list[type[CStruct]]:
    found = set()
    for module in (ops.conv, ops.elementwise, ops.fully_connected, ops.movement, ops.pooling, ops.quantize,
                   ops.softmax, ops.base, ops.binary, ops.unary, ops.slicing,
                   ops.resize, ops.tconv, ops.matmul, ops.normalize):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, CStruct) and obj is not CStruct:
                found.add(obj)
    return sorted(found, key=lambda c: c.C_TYPE)


def _public_kernels() -> set[str]:
    text = re.sub(r"/\*.*?\*/", "", (HEADER_DIR / "ef_nn.h").read_text(), flags=re.S)
    return set(re.findall(r"\bef_status\s+(ef_\w+)\s*\(", text))


def test_param_dataclasses_mirror_the_c_structs() -> None:
    structs = _c_structs()
    classes = _param_structs()
    assert len(classes) >= 10
    for cls in classes:
        assert cls.C_TYPE in structs, f"{cls.__name__}: no C struct {cls.C_TYPE} in ef_nn_types.h"
        assert [f.name for f in fields(cls)] == structs[cls.C_TYPE], cls.C_TYPE


def test_every_kernel_named_is_declared_and_every_declared_kernel_is_named() -> None:
    declared = _public_kernels()
    named = {k for e in all_ops().values() for k in e.kernel_names}
    assert named <= declared, f"named but not in ef_nn.h: {sorted(named - declared)}"
    helpers = {"ef_unpack_s8"}  # run by the generator before a packed layer, not an operator kernel
    assert declared - named - helpers == set(), f"public kernels no operator uses: {sorted(declared - named)}"


def _all_layers():
    for case in sorted(OPMODEL_CASES):
        yield case, lower(load_tflite(get_opmodel(case)))
    for name, path in sorted(MLPERF.items()):
        yield name, lower(load_tflite(path))


def test_lowering_picks_one_of_the_entrys_kernels() -> None:
    kinds = set()
    for _, graph in _all_layers():
        for layer in graph.layers:
            entry = get_op(layer.op)
            assert entry is not None
            if layer.kernel:
                assert layer.kernel in entry.kernel_names, (layer.op, layer.kernel)
                assert layer.kernel in entry.kernels(layer)
                kinds.add(layer.kernel)
            else:
                assert layer.alias and entry.kernel_names == ()
    # the op models reach the specialised kernels and the generic ones
    assert {"ef_conv_1x1_s8", "ef_conv_s8", "ef_depthwise_conv_3x3_s8", "ef_depthwise_conv_s8"} <= kinds


def test_forced_kernel_must_be_possible(tmp_path) -> None:
    model = get_opmodel("conv_1x1_s1")
    gen = generate_c(model, tmp_path / "generic", kernels={0: "ef_conv_s8"})
    assert gen.graph.layers[0].kernel == "ef_conv_s8" and gen.graph.layers[0].scratch_bytes > 0
    assert "st = ef_conv_s8(" in gen.files["model.c"].read_text()
    with pytest.raises(UnsupportedOpError, match="cannot run on ef_depthwise_conv_s8"):
        generate_c(model, tmp_path / "bad", kernels={0: "ef_depthwise_conv_s8"})
    dw = get_opmodel("dw_3x3_m1_s1_same")
    gen = generate_c(dw, tmp_path / "dw", kernels={0: "ef_depthwise_conv_s8"})
    assert "st = ef_depthwise_conv_s8(" in gen.files["model.c"].read_text()


def test_scratch_sizes_equal_the_c_get_buffer_size(tmp_path) -> None:
    """The Python scratch size of every layer is what the C kernel asks for (compiled and run)."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc missing: apt install gcc")
    rows: list[tuple[str, int, str]] = []
    for name, graph in _all_layers():
        for layer in graph.layers:
            entry = get_op(layer.op)
            assert entry is not None
            candidates = [layer.kernel]
            if len(entry.kernels(layer)) > 1:  # the generic alternative must agree too
                candidates = list(entry.kernels(layer))
            for kernel in candidates:
                entry.use_kernel(layer, kernel)
                expr = entry.scratch_c_expr(layer)
                if expr is None:
                    assert layer.scratch_bytes == 0, (name, layer.name, kernel)
                else:
                    rows.append((f"{name}/{layer.name}/{kernel}", layer.scratch_bytes, expr))
    assert len(rows) >= 20
    body = "\n".join(f'    printf("%ld\\n", (long)({expr}));' for _, _, expr in rows)
    src = tmp_path / "scratch.c"
    src.write_text(f'#include <stdio.h>\n#include "ef_nn.h"\nint main(void)\n{{\n{body}\n    return 0;\n}}\n')
    exe = tmp_path / "scratch"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{HEADER_DIR}", str(src),
                        *map(str, kernel_sources()), "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    got = [int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()]
    bad = [(what, py, c) for (what, py, _), c in zip(rows, got, strict=True) if py != c]
    assert not bad, f"Python vs C scratch sizes differ: {bad[:5]}"


def test_ops_command_lists_every_entry() -> None:
    r = CliRunner().invoke(ops_cmd, [])
    assert r.exit_code == 0, r.output
    for name in supported_ops():
        assert name in r.output
    r = CliRunner().invoke(ops_cmd, ["--json"])
    listed = json.loads(r.output)
    assert [x["op"] for x in listed] == list(supported_ops())
    assert all(x["constraints"] for x in listed)
