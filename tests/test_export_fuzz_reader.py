"""Property-based fuzzing of the TFLite reader (fixed budget, deterministic): whatever the
mutation of the MLPerf models or the small generated model, only MalformedModelError escapes.
Long runs: ``scripts/fuzz --target reader``."""

from __future__ import annotations

from fuzz_harness import check_reader, seeds, tflite_inputs
from hypothesis import HealthCheck, given, settings

from edgefact.export.tflite_model import load_tflite

FUZZ = settings(derandomize=True, database=None, max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_seeds_load() -> None:
    for name, data in seeds().items():
        assert load_tflite(data).operators, name


@FUZZ
@given(tflite_inputs())
def test_reader_raises_only_malformed_model_error(data: bytes) -> None:
    check_reader(data)
