"""Log parser under hostile input (issue 13): linear time, bounded lines and nesting, lone
surrogates, and typed views that raise LogProtocolError for CRC-valid records with bad fields."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from edgefact.errors import EdgefactError
from edgefact.report.logproto import (
    MAX_LINE_BYTES,
    MAX_OUTPUT_VALUES,
    LogFeeder,
    LogProtocolError,
    ParsedLog,
    encode_record,
    parse_log,
)


def _frame(body: bytes) -> bytes:
    """A CRC-valid record line around any body bytes."""
    return f"EF1 {len(body)} {zlib.crc32(body):08x} ".encode() + body


def _log(*records: dict[str, Any]) -> ParsedLog:
    log = parse_log("\n".join(encode_record(r) for r in records) + "\n")
    assert log.errors == [] and len(log.records) == len(records)
    return log


def _six_mb() -> bytes:
    out = [b"QEMU boot banner, some noise"]
    i = size = 0
    while size < 6_000_000:
        out.append(encode_record({"t": "output", "name": "y", "dtype": "int8", "offset": (i * 64) % 4096,
                                  "n": 4096, "values": list(range(-32, 32))}).encode())
        out.append(encode_record({"t": "total", "run": i, "count": 691 + i}).encode())
        out.append(b"uart noise %d" % i)
        size += sum(len(x) + 1 for x in out[-3:])
        i += 1
    return b"\n".join(out) + b"\n"


def _timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_six_megabytes_parse_in_linear_time() -> None:
    data = _six_mb()
    one = _timed(lambda: parse_log(data))

    def chunked() -> None:
        f = LogFeeder()
        for i in range(0, len(data), 512):
            f.feed(data[i:i + 512])
        log = f.finish()
        assert log.errors == [] and len(log.records) > 20_000
    many = _timed(chunked)
    # Was 18 s in one chunk (quadratic re-slicing); linear is ~0.3 s here. The bound leaves room
    # for a loaded CI machine while still failing a quadratic parser by far.
    assert one < 3.0 and many < 3.0, (one, many)
    half = _timed(lambda: parse_log(data[: len(data) // 2]))
    assert one < 4 * half + 0.5  # doubling the input must not quadruple the time


@pytest.mark.parametrize("prefix", [b"", b"EF1 "])
def test_six_megabytes_without_newline_in_512_byte_chunks(prefix: bytes) -> None:
    data = prefix + b"x" * 6_000_000
    f = LogFeeder()
    t = time.perf_counter()
    for i in range(0, len(data), 512):
        f.feed(data[i:i + 512])
    assert len(f.pending) == MAX_LINE_BYTES  # bounded, whatever comes
    log = f.finish()
    assert time.perf_counter() - t < 2.0
    assert log.lines[0].endswith(f"[... {len(data) - MAX_LINE_BYTES} bytes cut]")
    if prefix:
        assert [e.kind for e in log.errors] == ["corrupted"] and "longer than" in log.errors[0].message
    else:
        assert log.errors == [] and len(log.noise[0]) == MAX_LINE_BYTES


def test_overlong_line_then_valid_record() -> None:
    end = encode_record({"t": "end", "status": 0}).encode()
    data = b"EF1 9 " + b"7" * (MAX_LINE_BYTES * 2) + b"\n" + end + b"\n"
    for chunk in (len(data), 1000, 7):
        f = LogFeeder()
        for i in range(0, len(data), chunk):
            f.feed(data[i:i + chunk])
        log = f.finish()
        assert log.status == 0 and [e.kind for e in log.errors] == ["corrupted"]


def test_deeply_nested_json_is_an_error_not_recursionerror() -> None:
    deep = b'{"t":"x","a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert len(deep) > MAX_LINE_BYTES
    log = parse_log(_frame(deep))
    assert [e.kind for e in log.errors] == ["corrupted"]
    inner = b'{"t":"x","a":' + b"[" * 5000 + b"]" * 5000 + b"}"  # fits a line, deeper than Python's limit
    log = parse_log(_frame(inner))
    assert [e.kind for e in log.errors] == ["json"] and "nested deeper" in log.errors[0].message
    medium = b'{"t":"x","a":' + b"[" * 40 + b"]" * 40 + b"}"
    log = parse_log(_frame(medium))
    assert [e.kind for e in log.errors] == ["json"] and "nested deeper than 32" in log.errors[0].message
    flat = b'{"t":"x","a":[' + b",".join(b"[1]" for _ in range(100)) + b"]}"
    assert parse_log(_frame(flat)).records  # many brackets, shallow: fine


def test_lone_surrogate_in_text_and_in_json() -> None:
    log = parse_log("boot \ud800 noise\n" + encode_record({"t": "end", "status": 0}) + "\n")
    assert log.status == 0 and "\ufffd" in log.noise[0]
    f = LogFeeder()
    f.feed("\udcff\ud83d partial")
    assert f.finish().noise
    log = parse_log(_frame(b'{"t":"msg","text":"\\ud800"}'))
    assert [e.kind for e in log.errors] == ["json"] and "surrogate" in log.errors[0].message
    assert parse_log(_frame(b'{"t":"msg","text":"\\ud83d\\ude00"}')).records  # a proper pair is fine


@pytest.mark.parametrize("body", [b'{"t":"metric","value":NaN}', b'{"t":"metric","value":Infinity}',
                                  b'{"t":"metric","value":1' + b"0" * 5000 + b"}"])
def test_non_numbers_and_huge_ints_are_json_errors(body: bytes) -> None:
    assert [e.kind for e in parse_log(_frame(body)).errors] == ["json"]


def test_huge_header_numbers_are_corrupted_not_valueerror() -> None:
    log = parse_log(b"EF" + b"1" * 5000 + b" 3 00000000 {}\nEF1 " + b"9" * 5000 + b" 00000000 {}\n")
    assert [e.kind for e in log.errors] == ["corrupted", "corrupted"]


# ---- typed views over CRC-valid records with missing or wrong fields --------------------------

BAD_VIEWS: list[tuple[dict[str, Any], Callable[[ParsedLog], Any], str]] = [
    ({"t": "end"}, lambda log: log.status, "'status'"),
    ({"t": "end", "status": "0"}, lambda log: log.status, "integer"),
    ({"t": "end", "status": 1.5}, lambda log: log.status, "integer"),
    ({"t": "end", "status": True}, lambda log: log.status, "integer"),
    ({"t": "end", "status": 1 << 40}, lambda log: log.status, "outside"),
    ({"t": "region", "count": 3}, lambda log: log.regions, "'name'"),
    ({"t": "region", "name": "x", "count": "many"}, lambda log: log.regions, "'count'"),
    ({"t": "region", "name": ["x"], "count": 1}, lambda log: log.regions, "string"),
    ({"t": "total", "run": 0}, lambda log: log.totals, "'count'"),
    ({"t": "total", "count": -5}, lambda log: log.totals, "outside"),
    ({"t": "stack", "peak": "big", "size": 10}, lambda log: log.peak_stack, "'peak'"),
    ({"t": "stack", "peak": 10, "size": "x"}, lambda log: log.peak_stack, "'size'"),
    ({"t": "checksum", "name": "y"}, lambda log: log.checksums, "'value'"),
    ({"t": "checksum", "name": "y", "value": 123}, lambda log: log.checksums, "string"),
    ({"t": "checksum", "name": "y", "value": "xyz"}, lambda log: log.checksums, "8 hex digits"),
    ({"t": "hello", "unit": 5}, lambda log: log.unit, "'unit'"),
    ({"t": "fault", "pc": "0x100"}, lambda log: log.fault, "'pc'"),
    ({"t": "fault", "cfsr": -1}, lambda log: log.fault, "outside"),
    ({"t": "output", "name": "y", "offset": 1e10, "values": [1]}, lambda log: log.outputs(), "'offset'"),
    ({"t": "output", "name": "y", "offset": 10**10, "values": [1]}, lambda log: log.outputs(), "outside"),
    ({"t": "output", "name": "y", "offset": -1, "values": [1]}, lambda log: log.outputs(), "outside"),
    ({"t": "output", "name": "y", "offset": 3, "n": 4, "values": [1, 2]}, lambda log: log.outputs(), "past"),
    ({"t": "output", "name": "y", "values": 7}, lambda log: log.outputs(), "'values'"),
    ({"t": "output", "name": "y", "values": [1, "2"]}, lambda log: log.outputs(), "int8"),
    ({"t": "output", "name": "y", "values": [1000]}, lambda log: log.outputs(), "int8"),
    ({"t": "output", "values": [1]}, lambda log: log.outputs(), "'name'"),
    ({"t": "output", "name": {"a": 1}, "values": [1]}, lambda log: log.outputs(), "string"),
]


@pytest.mark.parametrize("record, view, needle", BAD_VIEWS, ids=[f"{r['t']}-{i}" for i, (r, _, _) in enumerate(BAD_VIEWS)])
def test_view_over_bad_record_raises_log_protocol_error(record: dict[str, Any], view: Callable[[ParsedLog], Any],
                                                        needle: str) -> None:
    log = _log({"t": "msg", "text": "boot"}, record)
    with pytest.raises(LogProtocolError) as info:
        view(log)
    msg = str(info.value)
    assert needle in msg and "line 2" in msg and f"'{record['t']}' record" in msg, msg
    assert isinstance(info.value, EdgefactError)


def test_incomplete_log_reads_as_none_and_empty() -> None:
    log = _log({"t": "hello", "v": 1})
    assert (log.status, log.fault, log.peak_stack, log.unit) == (None, None, None, None)
    assert (log.regions, log.totals, log.checksums, log.outputs()) == ({}, [], {}, {})


def test_valid_views_unchanged() -> None:
    log = _log({"t": "output", "name": "y", "offset": 2, "n": 4, "values": [3, -4]},
               {"t": "output", "name": "y", "offset": 0, "n": 4, "values": [1, 2]},
               {"t": "stack", "peak": 300, "size": 0}, {"t": "end", "status": 3},
               {"t": "output", "name": "big", "dtype": "int16", "offset": MAX_OUTPUT_VALUES - 1, "values": [-300]})
    assert log.outputs()["y"] == [1, 2, 3, -4]
    assert len(log.outputs()["big"]) == MAX_OUTPUT_VALUES
    assert log.peak_stack is None and log.status == 3
