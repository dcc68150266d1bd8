"""Reference oracles: TFLM and LiteRT-reference run the MLPerf Tiny models; arena sizes; errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from shared_paths import MLPERF_DIR

from edgefact.errors import EdgefactError, MalformedModelError
from edgefact.export import reference as ref
from edgefact.stdio import capture_output

MLPERF = sorted(MLPERF_DIR.glob("*.tflite"))
N = 24


def _random(model: bytes | Path, n: int, seed: int = 0) -> list[np.ndarray]:
    io = ref.model_io_quant(model)
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, *t.shape[1:]), dtype=np.int8) for t in io.inputs]


def test_mlperf_models_present() -> None:
    assert {p.stem for p in MLPERF} == {"ad_fc_autoencoder_int8", "ic_resnet8_int8", "kws_dscnn_int8"}


@pytest.mark.parametrize("path", MLPERF, ids=lambda p: p.stem)
def test_both_oracles_run_mlperf(path: Path) -> None:
    io = ref.model_io_quant(path)
    xs = _random(path, N)
    a = ref.run_tflm(path, xs)
    b = ref.run_litert_ref(path, xs)
    assert len(a) == len(b) == len(io.outputs) == 1
    want = (N, *io.outputs[0].shape[1:])
    for out in (a[0], b[0]):
        assert out.shape == want
        assert out.dtype == np.int8
        assert len({o.tobytes() for o in out}) > 1, "outputs do not depend on the input"
    # The oracles are near-identical (they differ only by FULLY_CONNECTED rounding, see docs).
    assert np.mean(a[0] != b[0]) < 0.5
    assert np.abs(a[0].astype(int) - b[0].astype(int)).max() <= 16
    # One interpreter is reused across samples: a lone sample must give the same answer.
    lone = ref.run_tflm(path, [xs[0][N - 1]])
    np.testing.assert_array_equal(lone[0][0], a[0][N - 1])


def test_input_forms_are_equivalent() -> None:
    path = MLPERF_DIR / "kws_dscnn_int8.tflite"
    x = _random(path, 3)[0]  # (3, 49, 10, 1); the model's input is (1, 49, 10, 1)
    base = ref.run_tflm(path, x)[0]
    np.testing.assert_array_equal(ref.run_tflm(path, x[:, None])[0], base)  # (N, 1, 49, 10, 1)
    np.testing.assert_array_equal(ref.run_tflm(path, list(x))[0], base)  # list of samples
    np.testing.assert_array_equal(ref.run_tflm(path.read_bytes(), x[0])[0], base[:1])  # one sample


def test_bad_inputs_are_named() -> None:
    path = MLPERF_DIR / "kws_dscnn_int8.tflite"
    with pytest.raises(EdgefactError, match=r"expected \(N, 49, 10, 1\)"):
        ref.run_tflm(path, np.zeros((2, 10, 49, 1), np.int8))
    with pytest.raises(EdgefactError, match="quantize real inputs with scale"):
        ref.run_litert_ref(path, np.zeros((2, 49, 10, 1), np.float32))
    with pytest.raises(EdgefactError, match="do not fit int8"):
        ref.run_tflm(path, np.full((1, 49, 10, 1), 300, np.int32))
    with pytest.raises(EdgefactError, match="model file not found"):
        ref.run_tflm(MLPERF_DIR / "nope.tflite", np.zeros((1, 49, 10, 1), np.int8))


def _bad_models() -> dict[str, bytes]:
    good = (MLPERF_DIR / "kws_dscnn_int8.tflite").read_bytes()
    rng = np.random.default_rng(1)
    flipped = bytearray(good)
    flipped[4:8] = b"XXXX"
    return {
        "empty": b"",
        "random": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "truncated_half": good[: len(good) // 2],
        "truncated_tail": good[:-100],
        "bad_identifier": bytes(flipped),
        "text": b"this is not a model, just some text " * 20,
    }


@pytest.mark.parametrize("kind", sorted(_bad_models()))
def test_malformed_models_are_rejected(kind: str) -> None:
    data = _bad_models()[kind]
    x = np.zeros((1, 49, 10, 1), np.int8)
    for fn in (ref.run_tflm, ref.run_litert_ref, ref.compare_oracles):
        with pytest.raises(MalformedModelError, match="TFLite"):
            fn(data, x)
    with pytest.raises(MalformedModelError):
        ref.tflm_arena_bytes(data)


def _max_live_bytes(path: Path) -> int:
    """Lower bound on TFLM's non-persistent arena: the largest op's non-constant inputs + outputs."""
    from edgefact.export.tflite_model import load_tflite

    m = load_tflite(path)
    best = 0
    for op in m.operators:
        ts = {t for t in (*op.inputs, *op.outputs) if t >= 0 and not m.tensor(t).is_constant}
        best = max(best, sum(m.tensor(t).nbytes for t in ts))
    return best


@pytest.mark.parametrize("path", MLPERF, ids=lambda p: p.stem)
def test_tflm_arena_is_plausible(path: Path) -> None:
    arena = ref.tflm_arena(path, find_minimal=True)
    print(
        f"{path.stem}: TFLM arena total {arena.total} B (head {arena.head}, tail {arena.tail}), "
        f"smallest arena_size that allocates {arena.minimal} B"
    )
    assert arena.total == arena.head + arena.tail
    assert arena.head >= _max_live_bytes(path)
    assert 1024 < arena.total < 1 << 20
    assert ref.tflm_arena_bytes(path) == arena.total
    # The minimum really is the minimum: it runs, one byte less does not allocate.
    assert arena.minimal is not None and arena.minimal >= arena.head
    x = _random(path, 1)
    ref.run_tflm(path, x, arena_size=arena.minimal)
    with pytest.raises(EdgefactError, match="TFLM could not prepare"):
        ref.run_tflm(path, x, arena_size=arena.minimal - 1)


def test_compare_oracles_on_kws() -> None:
    path = MLPERF_DIR / "kws_dscnn_int8.tflite"
    d = ref.compare_oracles(path, _random(path, 40))
    assert d.n_samples == 40
    assert [t.op_type for t in d.tensors] == list(ref.model_io_quant(path).ops)
    # Every difference TFLM/LiteRT has on this model starts in FULLY_CONNECTED.
    assert set(d.origin_op_types()) <= {"FULLY_CONNECTED"}
    for t in d.tensors:
        if t.op_type in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"):
            assert t.equal, t
    assert "40 samples" in d.summary()
    fig = d.to_dict()
    assert fig["inputs"] == 40 and fig["output_elements"] == 40 * 12
    assert fig["output_elements_differing"] == d.outputs[0].n_differ
    assert set(fig["origin_ops"]) <= {"FULLY_CONNECTED"}


def _oracle_diff_script():  # noqa: ANN202
    from script_module import load_script

    return load_script("oracle_diff")


def test_fc_difference_is_single_vs_double_rounding() -> None:
    """TFLM's FULLY_CONNECTED rounds twice, LiteRT's reference FC once (docs/reference-oracles.md)."""
    from edgefact.export.tflite_model import load_tflite

    path = MLPERF_DIR / "ad_fc_autoencoder_int8.tflite"
    data = path.read_bytes()
    d = ref.compare_oracles(data, _random(path, 30), keep_values=True)
    assert not d.equal
    assert set(d.origin_op_types()) == {"FULLY_CONNECTED"}
    rows = _oracle_diff_script().explain_fc(data, d, load_tflite(data))
    checked = [r for r in rows if r["elements"]]
    assert checked and sum(r["oracles_differ"] for r in checked) > 0
    for r in checked:
        assert r["tflm_eq_double"] == r["elements"]
        assert r["litert_eq_single"] == r["elements"]
        assert r["oracles_differ"] == r["modes_differ"]


def test_c_level_output_is_captured_not_leaked(capfd: pytest.CaptureFixture[str]) -> None:
    with capture_output() as cap:
        os.write(2, b"to fd 2\n")
        os.write(1, b"to fd 1\n")
    assert "to fd 2" in cap.text and "to fd 1" in cap.text
    ref.tflm_arena(MLPERF_DIR / "kws_dscnn_int8.tflite", find_minimal=True)  # prints, and fails allocations
    out, err = capfd.readouterr()
    assert "to fd" not in out + err
    assert "RecordingMicroAllocator" not in out + err and "Failed" not in out + err
