"""The firmware log protocol (version 1), shared by every runner. See docs/log-protocol.md.

A record is one line::

    EF1 <len> <crc32> <json>\\n

``len`` is the decimal byte length of ``<json>``, ``crc32`` the zlib CRC-32 of those bytes as 8 lower
case hex digits, ``<json>`` a one-line JSON object with a ``"t"`` (record type) key. Anything that
is not a record is noise (boot messages, UART garbage) and is kept aside; a line that starts a
record but fails the length or checksum test is reported as an error, never dropped silently.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

VERSION = 1
MAGIC = "EF1"
#: Record types the firmware template and generated apps emit (unknown types are still parsed).
RECORD_TYPES = ("hello", "calib", "region", "total", "stack", "checksum", "output", "metric",
                "msg", "fault", "end")

_HEADER = re.compile(r"EF(\d+) (\d+) ([0-9a-fA-F]{8}) ")
_START = re.compile(r"EF\d+ ")


@dataclass(frozen=True)
class Record:
    """One decoded record: ``type`` is the ``"t"`` field, ``data`` the whole JSON object."""

    type: str
    data: dict[str, Any]
    line_no: int

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


@dataclass(frozen=True)
class LogError:
    """A line that looked like a record but could not be trusted."""

    line_no: int
    kind: str  # "truncated" | "corrupted" | "version" | "json"
    message: str
    line: str

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.kind}: {self.message}: {self.line[:120]!r}"


@dataclass
class ParsedLog:
    """Records, noise lines and errors of one firmware run, in order of appearance."""

    records: list[Record] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)
    errors: list[LogError] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    # -- typed views -------------------------------------------------------------------------
    def of_type(self, t: str) -> list[Record]:
        return [r for r in self.records if r.type == t]

    def first(self, t: str) -> Record | None:
        return next((r for r in self.records if r.type == t), None)

    @property
    def hello(self) -> dict[str, Any] | None:
        r = self.first("hello")
        return r.data if r else None

    @property
    def unit(self) -> str | None:
        h = self.hello
        return h.get("unit") if h else None

    @property
    def regions(self) -> dict[str, int]:
        """Region name -> count (of the run the firmware reports; see docs/log-protocol.md)."""
        return {r.data["name"]: int(r.data["count"]) for r in self.of_type("region")}

    @property
    def region_records(self) -> list[dict[str, Any]]:
        return [r.data for r in self.of_type("region")]

    @property
    def totals(self) -> list[int]:
        """Count of every timed run, in run order."""
        return [int(r.data["count"]) for r in self.of_type("total")]

    @property
    def peak_stack(self) -> int | None:
        r = self.first("stack")
        if r is None or r.data.get("peak") is None or r.data.get("size") == 0:
            return None  # size 0: no painted stack (host build)
        return int(r.data["peak"])

    @property
    def fault(self) -> dict[str, Any] | None:
        r = self.first("fault")
        return r.data if r else None

    @property
    def status(self) -> int | None:
        """The status of the ``end`` record, or None if the run did not finish its log."""
        r = self.first("end")
        return int(r.data["status"]) if r else None

    @property
    def checksums(self) -> dict[str, str]:
        return {r.data["name"]: r.data["value"] for r in self.of_type("checksum")}

    def outputs(self) -> dict[str, list[int]]:
        """Output vectors (chunks reassembled by offset)."""
        out: dict[str, list[int]] = {}
        for r in self.of_type("output"):
            vals = out.setdefault(r.data["name"], [])
            off = int(r.data.get("offset", len(vals)))
            if len(vals) < off:
                vals.extend([0] * (off - len(vals)))
            vals[off:off + len(r.data["values"])] = r.data["values"]
        return out

    def tail(self, n: int = 20) -> list[str]:
        return self.lines[-n:]


def encode_record(data: dict[str, Any]) -> str:
    """Frame one record (the same bytes the C log writer produces), without the newline."""
    if "t" not in data:
        raise ValueError("a record needs a 't' key")
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return f"{MAGIC} {len(body)} {zlib.crc32(body):08x} {body.decode('utf-8')}"


def _decode_line(line: str, line_no: int, log: ParsedLog) -> None:
    m_start = _START.search(line)
    if m_start is None:
        if line.strip():
            log.noise.append(line)
        return
    start = m_start.start()
    if start > 0 and line[:start].strip():
        # Noise glued in front of a record (e.g. a boot message without a newline).
        log.noise.append(line[:start])
    rec_text = line[start:]
    m = _HEADER.match(rec_text)
    if m is None:
        log.errors.append(LogError(line_no, "corrupted", "malformed record header", line))
        return
    version, length, crc = int(m.group(1)), int(m.group(2)), int(m.group(3), 16)
    if version != VERSION:
        log.errors.append(LogError(line_no, "version",
                                   f"log protocol version {version} not supported (this parser reads "
                                   f"version {VERSION}); rebuild the firmware with this edgefact",
                                   line))
        return
    body = rec_text[m.end():].rstrip("\r").encode("utf-8", errors="surrogateescape")
    if len(body) < length:
        log.errors.append(LogError(line_no, "truncated", f"{len(body)} of {length} bytes", line))
        return
    if len(body) > length:
        log.errors.append(LogError(line_no, "corrupted", f"{len(body)} bytes, header says {length}", line))
        return
    if zlib.crc32(body) != crc:
        log.errors.append(LogError(line_no, "corrupted", "CRC-32 mismatch", line))
        return
    try:
        data = json.loads(body)
    except ValueError as exc:  # CRC matched but JSON broken: a firmware bug, not a line error
        log.errors.append(LogError(line_no, "json", f"invalid JSON ({exc})", line))
        return
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        log.errors.append(LogError(line_no, "json", "record is not an object with a 't' string", line))
        return
    log.records.append(Record(data["t"], data, line_no))


class LogFeeder:
    """Incremental parser for a byte or text stream that arrives in arbitrary chunks (UART, pipes).

    ``feed()`` returns the records completed by that chunk; ``finish()`` handles the last,
    unterminated line (a record cut off by a reset or timeout is reported as truncated).
    """

    def __init__(self) -> None:
        self.log = ParsedLog()
        self._buf = b""
        self._line_no = 0

    def feed(self, chunk: bytes | str) -> list[Record]:
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", errors="surrogateescape")
        self._buf += chunk
        before = len(self.log.records)
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                break
            raw, self._buf = self._buf[:nl], self._buf[nl + 1:]
            self._line(raw)
        return self.log.records[before:]

    def _line(self, raw: bytes) -> None:
        self._line_no += 1
        line = raw.decode("utf-8", errors="replace").rstrip("\r").replace("\x00", "")
        self.log.lines.append(line)
        _decode_line(line, self._line_no, self.log)

    @property
    def pending(self) -> bytes:
        return self._buf

    def finish(self) -> ParsedLog:
        if self._buf:
            raw, self._buf = self._buf, b""
            self._line(raw)
        return self.log


def parse_log(text: str | bytes | Iterable[str]) -> ParsedLog:
    """Parse a whole log (text, bytes or lines)."""
    feeder = LogFeeder()
    if isinstance(text, str | bytes):
        feeder.feed(text)
    else:
        for line in text:
            feeder.feed(line if line.endswith("\n") else line + "\n")
    return feeder.finish()


__all__ = ["MAGIC", "RECORD_TYPES", "VERSION", "LogError", "LogFeeder", "ParsedLog", "Record",
           "encode_record", "parse_log"]
