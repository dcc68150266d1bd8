"""Property-based fuzzing of the firmware log parser (fixed budget, deterministic): parsing never
raises and every typed view raises at most LogProtocolError. Long runs: ``scripts/fuzz --target logproto``."""

from __future__ import annotations

from fuzz_harness import check_logproto, log_inputs
from hypothesis import HealthCheck, given, settings

FUZZ = settings(derandomize=True, database=None, max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(log_inputs())
def test_log_parser_raises_only_log_protocol_error(case: tuple[bytes | str, list[int]]) -> None:
    log, chunks = case
    check_logproto(log, chunks)
