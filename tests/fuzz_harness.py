"""Fuzzing harness shared by the fuzz tests (fixed small budget) and ``scripts/fuzz`` (long runs).

Inputs are Hypothesis strategies:

- :func:`tflite_inputs`: mutants of the MLPerf Tiny models and of the small generated model
  (:mod:`tflite_builder`): byte flips (biased towards the flatbuffer tables, not the weights),
  truncations, splices of two files, and field edits through the schema's object API (any int,
  float, string or list field of any table set to an interesting value, then repacked);
- :func:`log_inputs`: firmware logs made of valid records, CRC-valid records with wrong fields,
  noise, cut and corrupted lines, deep JSON, lone surrogates, fed in random chunks.

Targets state the property: :func:`check_reader` (only MalformedModelError escapes the
reader), :func:`check_generator` (reader + ``generate_c`` into a temporary folder: only
EdgefactError subclasses escape), :func:`check_logproto` (parsing never raises; every typed
view raises at most LogProtocolError). Crashing inputs are kept under ``tests/data/fuzz/<target>/``
and replayed by ``tests/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import math
import tempfile
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st
from shared_paths import MLPERF_DIR
from tflite_builder import pack, small_model, unpack

from edgefact.errors import EdgefactError, MalformedModelError
from edgefact.report.logproto import LogFeeder, LogProtocolError, encode_record

CORPUS_DIR = Path(__file__).resolve().parent / "data" / "fuzz"
TARGETS = ("reader", "generator", "oracle", "logproto")
#: More seed files (``scripts/fuzz`` adds the cached one-op models of tests/opmodels.py); set
#: before the first call of :func:`seeds`.
EXTRA_SEEDS: list[Path] = []
DEFAULT_SEEDS = True  # False: only EXTRA_SEEDS (scripts/fuzz --only-seeds)
#: Targets the generator check compiles for, picked from the input's CRC (so a replay matches).
GENERATOR_TARGETS = (None, "cortex-m4", "cortex-m55")


# ---- seeds -------------------------------------------------------------------------------------

@cache
def seeds() -> dict[str, bytes]:
    """Seed files: the MLPerf Tiny models and the small generated model."""
    out = {p.stem: p.read_bytes() for p in sorted(MLPERF_DIR.glob("*.tflite"))} if DEFAULT_SEEDS else {}
    if DEFAULT_SEEDS:
        out["small"] = pack(small_model())
    out.update({p.stem: p.read_bytes() for p in EXTRA_SEEDS})
    return out


@cache
def _tree(name: str) -> Any:
    return unpack(seeds()[name])


Slot = tuple[Any, Any]  # (container, key or index): container[key] / getattr(container, key)


def _slots(obj: Any, out: list[Slot], depth: int = 0) -> None:
    """Every editable leaf of a ModelT (ints, floats, strings, lists of numbers, whole lists)."""
    if depth > 12:
        return
    for key, value in vars(obj).items():
        if isinstance(value, list) and value and hasattr(value[0], "__dict__"):
            out.append((obj, key))  # the list itself (emptied, duplicated ...)
            for item in value:
                _slots(item, out, depth + 1)
        elif hasattr(value, "__dict__"):
            out.append((obj, key))
            _slots(value, out, depth + 1)
        elif key == "data":
            out.append((obj, key))  # a buffer: edited as a whole (cut, emptied)
        elif isinstance(value, list) or (hasattr(value, "shape") and getattr(value, "ndim", 0) == 1):
            out.append((obj, key))
            out.extend((value, i) for i in range(min(len(value), 8)))
        else:
            out.append((obj, key))


@cache
def _all_slots(name: str) -> list[Slot]:
    out: list[Slot] = []
    _slots(_tree(name), out)
    return out


INTS = (-(2**31), -65536, -2, -1, 0, 1, 2, 3, 4, 7, 10, 11, 16, 31, 127, 128, 255, 256, 65535, 65536,
        2**24, 2**24 + 1, 2**31 - 1, 2**32 - 1)
FLOATS = (math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, 1e-45, 1e-38, 1e38, 3.0e38)
STRINGS = (b"", b"\xff\xfe", b"\xc3", b"x" * 300, b"\xed\xa0\x80", "é".encode())


def _get(slot: Slot) -> Any:
    c, k = slot
    return c[k] if isinstance(k, int) else getattr(c, k)


def _set(slot: Slot, value: Any) -> None:
    c, k = slot
    if isinstance(k, int):
        c[k] = value
    else:
        setattr(c, k, value)


@st.composite
def _new_value(draw: st.DrawFn, old: Any) -> Any:
    if isinstance(old, bool | np.bool_):
        return not old
    if isinstance(old, float | np.floating):
        return draw(st.one_of(st.sampled_from(FLOATS), st.floats(allow_nan=True, allow_infinity=True, width=32)))
    if isinstance(old, int | np.integer):
        return draw(st.one_of(st.sampled_from(INTS), st.integers(-(2**31), 2**32 - 1)))
    if isinstance(old, float):
        return draw(st.one_of(st.sampled_from(FLOATS), st.floats(allow_nan=True, allow_infinity=True, width=32)))
    if isinstance(old, bytes | str):
        return draw(st.sampled_from(STRINGS))
    if old is None:
        return draw(st.one_of(st.sampled_from(INTS), st.just([])))
    if isinstance(old, list) and old and hasattr(old[0], "__dict__"):
        choice = draw(st.sampled_from(["empty", "drop", "dup", "none"]))
        return {"empty": [], "drop": old[:-1], "dup": old + old[-1:], "none": None}[choice]
    if hasattr(old, "__dict__"):
        return None  # a table removed (e.g. builtin options, quantization)
    if hasattr(old, "__len__"):
        seq = list(old)
        choice = draw(st.sampled_from(["empty", "drop", "dup", "huge", "neg", "none"]))
        return {"empty": [], "drop": seq[:-1], "dup": seq + seq[-1:], "huge": seq + [65536, 65536],
                "neg": [-int(v) for v in seq], "none": None}[choice]
    return draw(st.sampled_from(INTS))


def _packed_with_edits(name: str, edits: list[tuple[int, Any]]) -> bytes | None:
    """Apply (slot index, value) edits to the seed's object tree, pack, restore; None if unpackable."""
    slots = _all_slots(name)
    done: list[tuple[Slot, Any]] = []
    try:
        for idx, value in edits:
            slot = slots[idx % len(slots)]
            try:
                old = _get(slot)
                _set(slot, value)
            except (IndexError, TypeError, AttributeError, OverflowError, ValueError):
                continue  # e.g. 2**32 - 1 into an int32 numpy vector
            done.append((slot, old))
        try:
            return pack(_tree(name))
        except Exception:  # the value does not fit the field's width: not a file anyone can write
            return None
    finally:
        for slot, old in reversed(done):
            _set(slot, old)


@st.composite
def field_edited(draw: st.DrawFn, name: str) -> bytes:
    slots = _all_slots(name)
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        idx = draw(st.integers(0, len(slots) - 1))
        try:
            old = _get(slots[idx])
        except (IndexError, TypeError, AttributeError):
            continue
        edits.append((idx, draw(_new_value(old))))
    data = _packed_with_edits(name, edits)
    return data if data is not None else seeds()[name]


@st.composite
def byte_flipped(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    # Weights fill most of a big model; half of the flips land in the first and last 4 KiB,
    # where the flatbuffer keeps its tables, vtables, offsets and vector lengths.
    for _ in range(draw(st.integers(1, 8))):
        region = draw(st.sampled_from(["head", "tail", "any"]))
        lo, hi = {"head": (0, min(len(out), 4096)), "tail": (max(0, len(out) - 4096), len(out)),
                  "any": (0, len(out))}[region]
        pos = draw(st.integers(lo, max(lo, hi - 1)))
        how = draw(st.sampled_from(["xor", "set", "word"]))
        if how == "xor":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif how == "set":
            out[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        else:
            word = draw(st.sampled_from([0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, len(out), len(out) + 4]))
            out[pos:pos + 4] = word.to_bytes(4, "little")[: len(out) - pos]
    return bytes(out)


@st.composite
def tflite_inputs(draw: st.DrawFn) -> bytes:
    names = sorted(seeds())
    name = draw(st.sampled_from(names))
    data = seeds()[name]
    kind = draw(st.sampled_from(["field", "field", "flip", "truncate", "splice", "field+flip", "junk"]))
    if kind in ("field", "field+flip"):
        data = draw(field_edited(name))
    if kind in ("flip", "field+flip"):
        data = draw(byte_flipped(data))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif kind == "splice":
        other = seeds()[draw(st.sampled_from(names))]
        cut = draw(st.integers(0, len(data)))
        at = draw(st.integers(0, len(other)))
        data = data[:cut] + other[at:]
    elif kind == "junk":
        data = data[:8] + draw(st.binary(max_size=512))
    return data


# ---- log inputs --------------------------------------------------------------------------------

_JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats()
                            | st.text(max_size=8),
                            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                        max_size=4),
                            max_leaves=12)
_FIELDS = ("status", "name", "count", "value", "offset", "n", "values", "peak", "size", "unit", "pc", "cfsr",
           "dtype", "run", "id", "calls")


def _frame(body: bytes) -> bytes:
    return f"EF1 {len(body)} {zlib.crc32(body):08x} ".encode() + body


@st.composite
def _record_line(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["valid", "fields", "raw", "deep", "noise", "cut", "flip"]))
    t = draw(st.sampled_from(["hello", "region", "total", "stack", "checksum", "output", "metric", "msg",
                              "fault", "end", "x"]))
    if kind == "valid":
        return encode_record({"t": t, "name": "y", "count": 5, "status": 0, "offset": 0, "n": 2,
                              "values": [1, -2], "value": "deadbeef", "peak": 8, "size": 64}).encode()
    if kind == "fields":
        rec: dict[str, Any] = {"t": t}
        for key in draw(st.lists(st.sampled_from(_FIELDS), max_size=5)):
            rec[key] = draw(_JSON_VALUES)
        return encode_record(rec).encode("utf-8", "surrogatepass")
    if kind == "raw":
        return _frame(draw(st.binary(max_size=64)))
    if kind == "deep":
        d = draw(st.integers(1, 3000))
        return _frame(b'{"t":"x","a":' + b"[" * d + b"]" * d + b"}")
    if kind == "noise":
        return draw(st.binary(max_size=80)).replace(b"\n", b" ")
    line = encode_record({"t": t, "count": 1}).encode()
    if kind == "cut":
        return line[: draw(st.integers(0, len(line)))]
    pos = draw(st.integers(0, len(line) - 1))
    return line[:pos] + bytes([line[pos] ^ 0x20]) + line[pos + 1:]


@st.composite
def log_inputs(draw: st.DrawFn) -> tuple[bytes | str, list[int]]:
    """(log, chunk sizes): bytes, or text (possibly with lone surrogates), fed in those chunks."""
    data = b"\n".join(draw(st.lists(_record_line(), max_size=12)))
    if draw(st.booleans()):
        data += b"\n"
    chunks = draw(st.lists(st.integers(1, 600), max_size=6))
    if draw(st.integers(0, 4)) == 0:
        text = data.decode("utf-8", "surrogateescape") + draw(st.sampled_from(["", "\ud800", "\udfff x"]))
        return text, chunks
    return data, chunks


# ---- targets (the properties) ------------------------------------------------------------------

def check_reader(data: bytes) -> str:
    """Only MalformedModelError may escape the reader (its strict path, without the safety net).
    Returns the outcome ("accepted" / "rejected") for the fuzz statistics."""
    from edgefact.export import tflite_model

    try:
        tflite_model._load(bytes(data))
    except MalformedModelError:
        return "rejected"
    return "accepted"


def check_generator(data: bytes) -> str:
    """Reader, lowering, memory plan and C generation: only EdgefactError subclasses may escape."""
    from edgefact.export import tflite_model
    from edgefact.export.codegen import generate_c
    from edgefact.targets import get_target

    try:
        model = tflite_model._load(bytes(data))
    except MalformedModelError:
        return "rejected by the reader"
    name = GENERATOR_TARGETS[zlib.crc32(data) % len(GENERATOR_TARGETS)]
    with tempfile.TemporaryDirectory(prefix="edgefact-fuzz-") as out:
        try:
            generate_c(model, out, target=get_target(name) if name else None)
        except EdgefactError as exc:
            return f"rejected by the generator ({type(exc).__name__})"
    return "generated"


def check_oracle(data: bytes) -> str:
    """The contained reference interpreters on what the reader accepts: TFLM's and LiteRT's
    aborts, SIGFPE and SIGSEGV must come back as EdgefactError (OracleCrashError), never kill us."""
    import numpy as np

    from edgefact.export import tflite_model
    from edgefact.export.reference import OracleCrashError, run_litert_ref, run_tflm

    try:
        model = tflite_model._load(bytes(data))
    except MalformedModelError:
        return "rejected by the reader"
    shapes = [tuple(model.tensors[i].shape) for i in model.inputs]
    rng = np.random.default_rng(zlib.crc32(data))
    try:
        xs = [rng.integers(-128, 128, (1, *s[1:]) if s and s[0] == 1 else (1, *s), dtype=np.int8) for s in shapes]
    except (ValueError, MemoryError):
        return "rejected: inputs too large"
    outcome = "ran"
    for run in (run_tflm, run_litert_ref):
        try:
            run(bytes(data), xs)
        except OracleCrashError:
            outcome = "an oracle crashed (contained)"
        except EdgefactError:
            outcome = "refused by an oracle"
    return outcome


def check_logproto(log: bytes | str, chunks: list[int]) -> str:
    """Parsing never raises; the typed views raise at most LogProtocolError."""
    feeder = LogFeeder()
    pos = 0
    for size in chunks:
        feeder.feed(log[pos:pos + size])
        pos += size
    feeder.feed(log[pos:])
    parsed = feeder.finish()
    outcome = "clean" if not parsed.errors else "line errors"
    for view in (lambda: parsed.hello, lambda: parsed.unit, lambda: parsed.regions, lambda: parsed.totals,
                 lambda: parsed.peak_stack, lambda: parsed.fault, lambda: parsed.status, lambda: parsed.checksums,
                 parsed.outputs, lambda: [str(e) for e in parsed.errors], lambda: parsed.tail(5)):
        try:
            view()
        except LogProtocolError:
            outcome = "view error"
    return outcome


CHECKS: dict[str, Callable[..., str]] = {"reader": check_reader, "generator": check_generator,
                                         "oracle": check_oracle}


# ---- corpus of regression cases ----------------------------------------------------------------

def corpus(target: str) -> Iterator[Path]:
    """Kept crashing inputs of ``target`` (``*.bin``; a ``.open`` file beside one names the owner
    of a defect not fixed yet)."""
    yield from sorted((CORPUS_DIR / target).glob("*.bin"))


def replay(target: str, path: Path) -> None:
    data = path.read_bytes()
    if target == "logproto":
        check_logproto(data, [7, 512])
        check_logproto(data.decode("utf-8", "surrogateescape"), [])
    else:
        CHECKS[target](data)
