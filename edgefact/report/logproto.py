"""The firmware log protocol (version 1), shared by every runner. See docs/log-protocol.md.

A record is one line::

    EF1 <len> <crc32> <json>\\n

``len`` is the decimal byte length of ``<json>``, ``crc32`` the zlib CRC-32 of those bytes as 8 lower
case hex digits, ``<json>`` a one-line JSON object with a ``"t"`` (record type) key. Anything that
is not a record is noise (boot messages, UART garbage) and is kept aside; a line that starts a
record but fails the length or checksum test is reported as an error, never dropped silently.

Hostile input is bounded: parsing is linear in the input size (one pass over every chunk, no
re-scanning of pending bytes), a line keeps at most :data:`MAX_LINE_BYTES` bytes (a longer record
is a ``corrupted`` error), a record nested deeper than :data:`MAX_NESTING` or holding NaN,
infinities or lone surrogate escapes is a ``json`` error, and the typed views of :class:`ParsedLog`
check the fields they read: a missing or wrongly typed field raises :class:`LogProtocolError`
naming the line, the record type and the field.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edgefact.errors import EdgefactError

VERSION = 1
MAGIC = "EF1"
#: Record types the firmware template and generated apps emit (unknown types are still parsed).
RECORD_TYPES = ("hello", "calib", "region", "total", "stack", "checksum", "output", "metric",
                "msg", "fault", "end")

#: Longest line kept (bytes, without the line ending); the firmware's records are <= 512 bytes.
MAX_LINE_BYTES = 64 * 1024
#: Deepest JSON nesting accepted in a record (the firmware writes depth 2: an object and a list).
MAX_NESTING = 32
#: Largest output vector reassembled by :meth:`ParsedLog.outputs` (values).
MAX_OUTPUT_VALUES = 1 << 20

_HEADER = re.compile(r"EF([0-9]{1,9}) ([0-9]{1,9}) ([0-9a-fA-F]{8}) ")
_START = re.compile(r"EF[0-9]+ ")
_CHECKSUM = re.compile(r"[0-9a-fA-F]{8}")
_TRAILING_CR = re.compile(r"\r+(?=\n)|\r+\Z")
_INT64 = (-(1 << 63), (1 << 64) - 1)  # device integers are 64-bit (signed or unsigned)
_UINT32 = (0, (1 << 32) - 1)
_FAULT_FIELDS = ("exception", "cfsr", "hfsr", "mmfar", "bfar", "sfsr", "pc", "lr", "xpsr", "exc_return")
_DTYPE_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


class LogProtocolError(EdgefactError):
    """A CRC-valid record whose fields do not follow the protocol (missing, wrong type, out of range)."""


def _bad(r: Record, key: str, why: str) -> LogProtocolError:
    return LogProtocolError(f"firmware log line {r.line_no}: the '{r.type}' record {why} (field '{key}'); "
                            "the firmware does not follow log protocol v1: rebuild it with this edgefact "
                            "(see docs/log-protocol.md)")


def _int(r: Record, key: str, lo: int, hi: int, default: Any = ...) -> int:
    """Field ``key`` of ``r`` as an int in [lo, hi]; missing (without default) or else: LogProtocolError."""
    if key not in r.data:
        if default is not ...:
            return int(default)
        raise _bad(r, key, "has no such field")
    v = r.data[key]
    if not isinstance(v, int) or isinstance(v, bool):
        raise _bad(r, key, f"holds {_short(v)} where an integer belongs")
    if not lo <= v <= hi:
        raise _bad(r, key, f"holds {_short(v)}, outside {lo}..{hi}")
    return v


def _str(r: Record, key: str) -> str:
    if key not in r.data:
        raise _bad(r, key, "has no such field")
    v = r.data[key]
    if not isinstance(v, str):
        raise _bad(r, key, f"holds {_short(v)} where a string belongs")
    return v


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


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
        r = self.first("hello")
        return _str(r, "unit") if r is not None and "unit" in r.data else None

    @property
    def regions(self) -> dict[str, int]:
        """Region name -> count (of the run the firmware reports; see docs/log-protocol.md)."""
        return {_str(r, "name"): _int(r, "count", 0, _INT64[1]) for r in self.of_type("region")}

    @property
    def region_records(self) -> list[dict[str, Any]]:
        return [r.data for r in self.of_type("region")]

    @property
    def totals(self) -> list[int]:
        """Count of every timed run, in run order."""
        return [_int(r, "count", 0, _INT64[1]) for r in self.of_type("total")]

    @property
    def peak_stack(self) -> int | None:
        r = self.first("stack")
        if r is None or r.data.get("peak") is None or r.data.get("size") == 0:
            return None  # size 0: no painted stack (host build)
        _int(r, "size", 0, _INT64[1], default=0)
        return _int(r, "peak", 0, _INT64[1])

    @property
    def fault(self) -> dict[str, Any] | None:
        """The first ``fault`` record (register fields, when present, are checked 32-bit values)."""
        r = self.first("fault")
        if r is None:
            return None
        for key in _FAULT_FIELDS:
            if key in r.data:
                _int(r, key, *_UINT32)
        return r.data

    @property
    def status(self) -> int | None:
        """The status of the ``end`` record, or None if the run did not finish its log."""
        r = self.first("end")
        return _int(r, "status", -(1 << 31), (1 << 31) - 1) if r else None

    @property
    def checksums(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for r in self.of_type("checksum"):
            value = _str(r, "value")
            if not _CHECKSUM.fullmatch(value):
                raise _bad(r, "value", f"holds {_short(value)}, not 8 hex digits")
            out[_str(r, "name")] = value
        return out

    def outputs(self) -> dict[str, list[int]]:
        """Output vectors (chunks reassembled by offset; a gap left by a lost chunk reads 0).

        Each chunk must fit ``n`` (the whole length, when given) and :data:`MAX_OUTPUT_VALUES`;
        values must be integers of the chunk's ``dtype`` (int8 by default).
        """
        out: dict[str, list[int]] = {}
        for r in self.of_type("output"):
            vals = out.setdefault(_str(r, "name"), [])
            values = r.data.get("values")
            if not isinstance(values, list):
                raise _bad(r, "values", f"holds {_short(values)} where a list of integers belongs")
            dtype = r.data.get("dtype", "int8")
            lo, hi = _DTYPE_RANGES.get(dtype, _INT64) if isinstance(dtype, str) else _INT64
            if any(not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi for v in values):
                raise _bad(r, "values", f"holds a value that is not a {dtype} integer")
            n = _int(r, "n", 0, MAX_OUTPUT_VALUES, default=MAX_OUTPUT_VALUES)
            off = _int(r, "offset", 0, MAX_OUTPUT_VALUES, default=len(vals))
            if off + len(values) > n:
                raise _bad(r, "offset", f"places {len(values)} values at offset {off}, past the length {n}")
            if len(vals) < off:
                vals.extend([0] * (off - len(vals)))
            vals[off:off + len(values)] = values
        return out

    def tail(self, n: int = 20) -> list[str]:
        return self.lines[-n:]


def encode_record(data: dict[str, Any]) -> str:
    """Frame one record (the same bytes the C log writer produces), without the newline."""
    if "t" not in data:
        raise ValueError("a record needs a 't' key")
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return f"{MAGIC} {len(body)} {zlib.crc32(body):08x} {body.decode('utf-8')}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _check_values(data: Any) -> str | None:
    """Why ``data`` (decoded JSON) is unfit for a record, or None: nesting and lone surrogates."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth > MAX_NESTING:
                return f"nested deeper than {MAX_NESTING} levels"
            items = list(v.items()) if isinstance(v, dict) else [(None, x) for x in v]
            for k, x in items:
                if isinstance(k, str):
                    stack.append((k, depth))
                stack.append((x, depth + 1))
        elif isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "a string holds a lone surrogate escape (not valid Unicode)"
    return None


def _decode_line(line: str, line_no: int, log: ParsedLog, cut: int = 0) -> None:
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
    if cut:
        log.errors.append(LogError(line_no, "corrupted", f"record line longer than {MAX_LINE_BYTES} bytes "
                                   f"({cut} bytes cut off)", line))
        return
    m = _HEADER.match(rec_text)
    if m is None:
        log.errors.append(LogError(line_no, "corrupted", "malformed record header", line))
        return
    g_version, g_length, g_crc = m.groups()
    version, length, crc = int(g_version), int(g_length), int(g_crc, 16)
    if version != VERSION:
        log.errors.append(LogError(line_no, "version",
                                   f"log protocol version {version} not supported (this parser reads "
                                   f"version {VERSION}); rebuild the firmware with this edgefact",
                                   line))
        return
    text = rec_text[m.end():].rstrip("\r")
    body = text.encode("utf-8", errors="surrogateescape")
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
        data, end = _DECODER.raw_decode(text)
        if end != len(text):
            data = _DECODER.decode(text)  # surrounding white space, or the error message for junk
    except (ValueError, RecursionError) as exc:  # CRC matched but JSON broken: a firmware bug
        why = f"nested deeper than {MAX_NESTING} levels" if isinstance(exc, RecursionError) else str(exc)
        log.errors.append(LogError(line_no, "json", f"invalid JSON ({why})", line))
        return
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        log.errors.append(LogError(line_no, "json", "record is not an object with a 't' string", line))
        return
    problem = _check_values(data) if b"\\u" in body or (
        length > MAX_NESTING and body.count(b"[") + body.count(b"{") > MAX_NESTING) else None
    if problem:
        log.errors.append(LogError(line_no, "json", problem, line))
        return
    log.records.append(Record(data["t"], data, line_no))


def _encode_text(text: str) -> bytes:
    """Text to the bytes a channel carried: undecodable bytes kept by ``surrogateescape`` come back
    as they were; a lone surrogate that is not such an escape becomes U+FFFD on decoding."""
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogatepass")


class LogFeeder:
    """Incremental parser for a byte or text stream that arrives in arbitrary chunks (UART, pipes).

    ``feed()`` returns the records completed by that chunk; ``finish()`` handles the last,
    unterminated line (a record cut off by a reset or timeout is reported as truncated). Each byte
    is looked at once (the pending line is a ``bytearray`` only appended to), and a line keeps at
    most :data:`MAX_LINE_BYTES` bytes: the rest up to the newline is counted and dropped.
    """

    def __init__(self) -> None:
        self.log = ParsedLog()
        self._buf = bytearray()
        self._cut = 0  # bytes of the pending line dropped past MAX_LINE_BYTES
        self._line_no = 0

    def feed(self, chunk: bytes | bytearray | memoryview | str) -> list[Record]:
        data = _encode_text(chunk) if isinstance(chunk, str) else bytes(chunk)
        before = len(self.log.records)
        first = data.find(b"\n")
        if first < 0:
            self._append(data)
            return []
        self._append(data[:first])  # completes the pending line
        raw, cut = bytes(self._buf), self._cut
        self._buf.clear()
        self._cut = 0
        self._emit(raw, cut)
        last = data.rfind(b"\n")
        if last > first:
            self._emit_block(data[first + 1:last])
        self._append(data[last + 1:])
        return self.log.records[before:]

    def _emit_block(self, block: bytes) -> None:
        """Complete lines ``block`` (joined by newlines), decoded and split at C speed; only the
        lines that may hold a record go through the record decoder one by one."""
        if len(block) > MAX_LINE_BYTES and any(len(p) > MAX_LINE_BYTES for p in block.split(b"\n")):
            for raw in block.split(b"\n"):
                self._emit(raw[:MAX_LINE_BYTES], max(0, len(raw) - MAX_LINE_BYTES))
            return
        text = block.decode("utf-8", errors="replace")  # no invalid sequence spans a newline
        if "\r" in text:
            text = _TRAILING_CR.sub("", text)
        if "\x00" in text:
            text = text.replace("\x00", "")
        lines = text.split("\n")
        base = self._line_no
        self._line_no += len(lines)
        self.log.lines.extend(lines)
        if "EF" not in text:
            self.log.noise.extend([line for line in lines if line.strip()])
            return
        for k, line in enumerate(lines):
            if "EF" in line:
                _decode_line(line, base + k + 1, self.log)
            elif line.strip():
                self.log.noise.append(line)

    def _append(self, part: bytes) -> None:
        take = max(0, min(MAX_LINE_BYTES - len(self._buf), len(part)))
        if take:
            self._buf += part[:take] if take < len(part) else part
        self._cut += len(part) - take

    def _emit(self, raw: bytes, cut: int) -> None:
        self._line_no += 1
        line = raw.decode("utf-8", errors="replace")
        if line.endswith("\r"):
            line = line.rstrip("\r")
        if "\x00" in line:
            line = line.replace("\x00", "")
        self.log.lines.append(line if not cut else f"{line} [... {cut} bytes cut]")
        _decode_line(line, self._line_no, self.log, cut)

    @property
    def pending(self) -> bytes:
        return bytes(self._buf)

    def finish(self) -> ParsedLog:
        if self._buf or self._cut:
            raw, cut = bytes(self._buf), self._cut
            self._buf.clear()
            self._cut = 0
            self._emit(raw, cut)
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


__all__ = ["MAGIC", "MAX_LINE_BYTES", "MAX_NESTING", "MAX_OUTPUT_VALUES", "RECORD_TYPES", "VERSION", "LogError",
           "LogFeeder", "LogProtocolError", "ParsedLog", "Record", "encode_record", "parse_log"]
