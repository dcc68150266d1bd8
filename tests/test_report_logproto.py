"""Log protocol v1: framing, noise, truncation, corruption, chunked streams."""

from __future__ import annotations

import zlib

import pytest

from edgefact.report.logproto import LogFeeder, encode_record, parse_log

HELLO = {"t": "hello", "v": 1, "build": "abc123", "target": "cortex-m4", "unit": "instructions (emulated)"}
REGION = {"t": "region", "id": 0, "name": "conv", "count": 1234, "calls": 1}
END = {"t": "end", "status": 0}


def _lines() -> list[str]:
    return [encode_record(HELLO), encode_record(REGION), encode_record(END)]


def test_frame_is_length_crc_json() -> None:
    line = encode_record(END)
    magic, length, crc, body = line.split(" ", 3)
    assert magic == "EF1"
    assert int(length) == len(body.encode())
    assert int(crc, 16) == zlib.crc32(body.encode())


def test_records_survive_noise_between_and_before_lines() -> None:
    a, b, c = _lines()
    text = f"QEMU boot banner\r\n\x00\x00garbage{a}\r\n\nrandom uart noise\n{b}\n{c}\n"
    log = parse_log(text)
    assert [r.type for r in log.records] == ["hello", "region", "end"]
    assert log.errors == []
    assert "QEMU boot banner" in log.noise and "random uart noise" in log.noise
    assert any("garbage" in n for n in log.noise)
    assert log.regions == {"conv": 1234}
    assert log.status == 0 and log.unit == "instructions (emulated)"


def test_truncated_line_is_reported_not_dropped() -> None:
    a, b, c = _lines()
    log = parse_log(f"{a}\n{b[:-7]}\n{c}\n")
    assert [r.type for r in log.records] == ["hello", "end"]
    assert len(log.errors) == 1
    err = log.errors[0]
    assert err.kind == "truncated" and err.line_no == 2
    assert "region" in err.line


def test_unterminated_last_line_is_truncated_error() -> None:
    a, b, _ = _lines()
    log = parse_log(f"{a}\n{b[:20]}")
    assert [e.kind for e in log.errors] == ["truncated"]
    assert log.status is None


def test_corrupted_byte_fails_crc() -> None:
    a, b, c = _lines()
    bad = b.replace("1234", "1235")  # same length, different content
    log = parse_log(f"{a}\n{bad}\n{c}\n")
    assert [e.kind for e in log.errors] == ["corrupted"]
    assert "CRC" in log.errors[0].message
    assert "conv" not in log.regions


def test_extra_bytes_and_bad_header_are_corrupted() -> None:
    a = encode_record(REGION)
    log = parse_log(f"{a}xx\nEF1 zz 1234 {{}}\n")
    assert [e.kind for e in log.errors] == ["corrupted", "corrupted"]
    assert log.records == []


def test_other_protocol_version_is_reported() -> None:
    line = encode_record(END).replace("EF1", "EF2", 1)
    log = parse_log(line + "\n")
    assert [e.kind for e in log.errors] == ["version"]
    assert "rebuild" in log.errors[0].message


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_chunked_feed_equals_whole_parse(chunk: int) -> None:
    text = ("boot\n" + "\n".join(_lines()) + "\nEF1 99 00000000 {\"t\":\"x\"\n").encode()
    whole = parse_log(text)
    feeder = LogFeeder()
    got = []
    for i in range(0, len(text), chunk):
        got += feeder.feed(text[i:i + chunk])
    log = feeder.finish()
    assert [r.data for r in got] == [r.data for r in whole.records]
    assert [(e.kind, e.line_no) for e in log.errors] == [(e.kind, e.line_no) for e in whole.errors]
    assert log.noise == whole.noise == ["boot"]


def test_feeder_returns_records_as_soon_as_line_completes() -> None:
    a = encode_record(HELLO)
    f = LogFeeder()
    assert f.feed(a[:10]) == []
    recs = f.feed(a[10:] + "\n")
    assert [r.type for r in recs] == ["hello"]


def test_output_chunks_reassemble_and_views() -> None:
    lines = [encode_record({"t": "output", "name": "y", "offset": 0, "n": 4, "values": [1, 2]}),
             encode_record({"t": "output", "name": "y", "offset": 2, "n": 4, "values": [3, -4]}),
             encode_record({"t": "checksum", "name": "y", "value": "deadbeef"}),
             encode_record({"t": "total", "run": 0, "count": 10}),
             encode_record({"t": "total", "run": 1, "count": 9}),
             encode_record({"t": "stack", "peak": 300, "size": 32768}),
             encode_record({"t": "fault", "cfsr": 33280, "pc": 4500})]
    log = parse_log("\n".join(lines))
    assert log.outputs() == {"y": [1, 2, 3, -4]}
    assert log.checksums == {"y": "deadbeef"}
    assert log.totals == [10, 9]
    assert log.peak_stack == 300
    assert log.fault == {"t": "fault", "cfsr": 33280, "pc": 4500}


def test_json_that_is_not_a_record_is_an_error() -> None:
    body = b"[1,2]"
    line = f"EF1 {len(body)} {zlib.crc32(body):08x} {body.decode()}"
    log = parse_log(line)
    assert [e.kind for e in log.errors] == ["json"]
