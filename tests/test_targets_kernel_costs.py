"""The per-layer kernel cost model (edgefact.targets.kernel_costs) and its shipped table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgefact.errors import EdgefactError
from edgefact.targets.kernel_costs import (
    KINDS,
    CostModel,
    cost_key,
    cost_models,
    fit_cost_model,
    fit_error,
    load_cost_document,
    parse_cost_table,
)


def _samples(per_layer: float, per_output: float, per_mac: float) -> list[dict[str, int]]:
    shapes = ((6272, 903_168), (3136, 903_168), (3136, 225_792), (12_544, 903_168))
    return [{"outputs": o, "macs": m, "count": round(per_layer + per_output * o + per_mac * m)} for o, m in shapes]


def test_fit_recovers_a_linear_cost() -> None:
    # by hand: 2,000 + 9.5 per output + 0.14 per MAC; the 6272-output sample costs 2,000 + 59,584 + 126,443.52
    samples = _samples(2000.0, 9.5, 0.14)
    assert samples[0]["count"] == 188_028
    model = fit_cost_model(samples)
    assert model.per_layer == pytest.approx(2000.0, rel=1e-3)
    assert model.per_output == pytest.approx(9.5, rel=1e-4)
    assert model.per_mac == pytest.approx(0.14, rel=1e-4)
    assert fit_error(model, samples) < 1e-5


def test_fit_keeps_the_coefficients_non_negative() -> None:
    # a free least-squares fit of these would take a negative per-output cost
    samples = [{"outputs": 100, "macs": 900, "count": 1000}, {"outputs": 200, "macs": 1800, "count": 1200},
               {"outputs": 200, "macs": 5000, "count": 5000}]
    a = np.array([[1.0, x["outputs"], x["macs"]] for x in samples])
    free = np.linalg.solve(a, [x["count"] for x in samples])
    assert free.min() < 0  # the free fit is exact, with a negative per-output cost
    model = fit_cost_model(samples)
    assert min(model.per_layer, model.per_output, model.per_mac) >= 0.0
    assert fit_error(model, samples) < 0.5


def test_fit_refuses_too_few_or_inseparable_shapes() -> None:
    with pytest.raises(EdgefactError, match="at least 3"):
        fit_cost_model(_samples(0, 1, 1)[:2])
    collinear = [{"outputs": o, "macs": 9 * o, "count": 5 * o} for o in (100, 200, 400)]
    with pytest.raises(EdgefactError, match="do not separate"):
        fit_cost_model(collinear)


def test_measured_shapes_cost_their_measurement() -> None:
    model = CostModel(100.0, 2.0, 0.5, {(14, 14, 16, 32, 3, 3): 184_395})
    assert model.cost((14, 14, 16, 32, 3, 3), 6272, 903_168) == 184_395
    assert model.cost((7, 7, 16, 32, 3, 3), 1568, 225_792) == 100 + 2 * 1568 + 0.5 * 225_792


def test_malformed_table_names_the_fix() -> None:
    with pytest.raises(EdgefactError, match="bench_kernel_costs"):
        parse_cost_table({"cores": {"cortex-m4": {"conv": {"per_layer": 1}}}})
    with pytest.raises(EdgefactError, match="malformed kernel cost table"):
        parse_cost_table({})


def test_shipped_table_is_its_own_fit() -> None:
    """Every core measured has every kind; each kind's coefficients are the fit of the samples it
    ships (a hand edit of either fails), and each sample is a lookup."""
    doc = load_cost_document()
    assert {"cortex-m4", "cortex-m55"} <= set(doc["cores"]) and doc["commit"] and "bench_kernel_costs" in doc["command"]
    for core, kinds in doc["cores"].items():
        assert set(kinds) == set(KINDS), core
        for kind, row in kinds.items():
            refit = fit_cost_model(row["samples"])
            assert row["per_layer"] == pytest.approx(refit.per_layer, abs=1e-2)
            assert row["per_output"] == pytest.approx(refit.per_output, abs=1e-4)
            assert row["per_mac"] == pytest.approx(refit.per_mac, abs=1e-5)
            model = cost_models(core)[kind]  # type: ignore[index]
            for s in row["samples"]:
                assert model.cost(tuple(s["dims"]), s["outputs"], s["macs"]) == s["count"]


def test_cores_without_their_own_row_take_their_kernels_twin() -> None:
    assert cost_models("cortex-m7") is cost_models("cortex-m4") is not None
    assert cost_models("host") is None and cost_key("host") is None and cost_key(None) is None
    key = cost_key("cortex-m55")
    assert key is not None and set(key) == set(KINDS)
    assert json.loads(json.dumps(key)) == key  # a stage cache key: plain JSON


def test_bench_grid_measures_both_forms_of_the_cnn_dictionary_layers() -> None:
    """scripts/bench_kernel_costs keys its samples as the form choice looks them up: every cnn
    dictionary layer at 3 and 4 atoms, in both forms, is a measured shape of its grid and of the
    shipped table."""
    from script_module import load_script

    bench = load_script("bench_kernel_costs")
    grid = {kind: {tuple(bench.dims_of(s)) for s in specs} for kind, specs in bench.GRID.items()}
    shipped = {core: {kind: set(m.measured) for kind, m in (cost_models(core) or {}).items()}
               for core in ("cortex-m4", "cortex-m55")}
    for h, i, o, k in bench.CNN_LAYERS:
        want = {"depthwise_mult": (h, h, i, i * k, 3, 3), "conv_1x1": (h, h, i * k, o, 1, 1), "conv": (h, h, i, o, 3, 3)}
        for kind, dims in want.items():
            assert dims in grid[kind], (kind, dims)
            assert all(dims in shipped[core][kind] for core in shipped), (kind, dims)
