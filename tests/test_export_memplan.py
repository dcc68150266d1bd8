"""Memory planner: arena no larger than TFLM's, aliasing/in-place, independent overlap check."""

from __future__ import annotations

import copy
import functools

import pytest
from codegen_util import MLPERF

from edgefact.errors import EdgefactError
from edgefact.export.lowering import lower
from edgefact.export.memplan import check_plan, format_plan, plan_memory
from edgefact.export.tflite_model import load_tflite


@functools.cache
def _tflm_arena(name: str) -> int:
    from edgefact.export.reference import tflm_arena_bytes

    return tflm_arena_bytes(MLPERF[name])


@pytest.mark.parametrize("name", sorted(MLPERF))
def test_arena_not_larger_than_tflm(name: str) -> None:
    graph = lower(load_tflite(MLPERF[name]))
    plan = plan_memory(graph)
    tflm = _tflm_arena(name)
    print(f"\n{name}: edgefact arena {plan.arena_bytes} B, TFLM arena {tflm} B")
    assert 0 < plan.arena_bytes <= tflm
    # the placement is never below the live-set lower bound, and wastes little above it
    assert plan.peak_live_bytes <= plan.arena_bytes <= plan.peak_live_bytes + 16 * len(plan.buffers)
    text = format_plan(plan, graph, tflm)
    assert f"arena: {plan.arena_bytes} bytes" in text and f"TFLM arena for the same model: {tflm}" in text


def test_inplace_add_and_reshape_alias() -> None:
    graph = lower(load_tflite(MLPERF["ic_resnet8"]))
    plan = plan_memory(graph)
    adds = [layer for layer in graph.layers if layer.op == "ADD"]
    assert adds and all(layer.inplace_input is not None for layer in adds)
    for layer in adds:
        src = layer.inputs[layer.inplace_input]
        assert plan.tensor_buffer[src] == plan.tensor_buffer[layer.output]
    (reshape,) = (layer for layer in graph.layers if layer.op == "RESHAPE")
    assert plan.tensor_buffer[reshape.inputs[0]] == plan.tensor_buffer[reshape.output]
    # without in-place the plan must still be valid, and not smaller
    plain = plan_memory(lower(load_tflite(MLPERF["ic_resnet8"])), inplace=False)
    assert plain.arena_bytes >= plan.arena_bytes
    # model input and output are the caller's buffers, not arena space
    assert plan.buffer_of(graph.inputs[0]).offset is None and plan.buffer_of(graph.outputs[0]).offset is None
    # every conv scratch buffer is in the plan with the kernel's size
    for pos, layer in enumerate(graph.layers):
        if layer.scratch_bytes:
            assert plan.buffers[plan.scratch[pos]].size == layer.scratch_bytes


def test_check_plan_catches_overlap() -> None:
    graph = lower(load_tflite(MLPERF["kws_dscnn"]))
    plan = plan_memory(graph)
    check_plan(plan)
    bad = copy.deepcopy(plan)
    placed = [b for b in bad.buffers if b.offset is not None]
    a, b = next((a, b) for a in placed for b in placed if a is not b and a.overlaps_in_time(b))
    b.offset = a.offset
    with pytest.raises(EdgefactError, match="overlap"):
        check_plan(bad)
    bad2 = copy.deepcopy(plan)
    next(b for b in bad2.buffers if b.offset is not None).offset = bad2.arena_bytes
    with pytest.raises(EdgefactError, match="outside"):
        check_plan(bad2)
