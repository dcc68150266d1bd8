"""Where a firmware's instructions go, function by function: an instruction trace from QEMU.

The per-layer counts of report.json say which layer costs what; inside a kernel, the question is
which loop. QEMU translates one guest instruction per block with ``-singlestep`` (QEMU < 8.1) or
``-accel tcg,one-insn-per-tb=on`` and logs every executed block with ``-d exec,nochain``, so the
log is the instruction trace. It is read as it is written, through a FIFO (a 15 M instruction
inference logs ~1 GB), and each PC is mapped to the ELF function around it.

The counts are those of the whole firmware run (start-up, every inference, the log output); the
calls of the model's run function give the number of inferences to divide by.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edgefact.errors import EdgefactError, MissingToolError
from edgefact.firmware.elf import memory_report
from edgefact.targets import get_target
from edgefact.targets.runners.qemu import qemu_binary, qemu_command

#: the test harness's logging and framing: shown as one line unless asked for
HARNESS_PREFIXES = ("ef_log_", "ef_put", "ef_crc32", "ef_platform_", "ef_board_", "ef_key", "ef_stack_",
                    "ef_timer_", "ef_profile_", "strlen", "Reset_Handler")
#: the generated model's entry: one call per inference
RUN_FUNCTION = "ef_model_run"
#: "Trace 0: 0x7f.. [0080044a/38000150/00000150/ff000201] name": the second field is the PC
_TRACE = re.compile(rb"\[[0-9a-f]+/([0-9a-f]+)/")


@dataclass(frozen=True)
class Profile:
    """Instructions per function (``?`` outside every function) and per PC, for one firmware run."""

    functions: Counter[str]
    pcs: Counter[int]
    inferences: int  # calls of RUN_FUNCTION (0 when the ELF has none)

    @property
    def total(self) -> int:
        return sum(self.functions.values())

    def kernel_rows(self, include_harness: bool = False) -> list[tuple[str, int]]:
        """(function, instructions), largest first; the harness's functions as one row unless included."""
        rows: Counter[str] = Counter()
        for name, n in self.functions.items():
            rows[name if include_harness or not name.startswith(HARNESS_PREFIXES) else "(harness: log, timers)"] += n
        return rows.most_common()


class FunctionMap:
    """PC -> name of the function that contains it, from the ELF's symbol table."""

    def __init__(self, spans: Iterable[tuple[int, int, str]]) -> None:
        items = sorted((a, a + max(size, 1), name) for a, size, name in spans)
        self._starts = [a for a, _, _ in items]
        self._items = items

    @classmethod
    def of_elf(cls, elf: str | os.PathLike[str]) -> FunctionMap:
        rep = memory_report(elf)
        return cls((s.address, s.size, s.name) for s in rep.symbols if s.kind == "func")

    def name(self, pc: int) -> str:
        i = bisect.bisect_right(self._starts, pc & ~1) - 1
        if i >= 0 and pc < self._items[i][1]:
            return self._items[i][2]
        return "?"

    def start(self, name: str) -> int | None:
        return next((a for a, _, n in self._items if n == name), None)


def count_trace(lines: Iterable[bytes], fmap: FunctionMap) -> Profile:
    """Fold QEMU ``-d exec`` lines (one instruction per block) into a Profile."""
    pcs: Counter[int] = Counter()
    for line in lines:
        m = _TRACE.search(line)
        if m is not None:
            pcs[int(m.group(1), 16)] += 1
    functions: Counter[str] = Counter()
    for pc, n in pcs.items():
        functions[fmap.name(pc)] += n
    run = fmap.start(RUN_FUNCTION)
    return Profile(functions=functions, pcs=pcs, inferences=pcs.get(run, 0) if run is not None else 0)


def _one_insn_flags(qemu: str) -> list[str]:
    """QEMU's option for one instruction per translation block (renamed in QEMU 8.1)."""
    help_text = subprocess.run([qemu, "-help"], capture_output=True, text=True, check=False).stdout
    return ["-singlestep"] if "-singlestep" in help_text else ["-accel", "tcg,one-insn-per-tb=on"]


def profile_firmware(elf: str | os.PathLike[str], core: str, timeout_s: float = 1800.0) -> Profile:
    """Run ``elf`` on ``core``'s emulated machine and count its instructions per function."""
    elf = Path(elf)
    if not elf.is_file():
        raise EdgefactError(f"{elf}: no such firmware ELF; build it first (edgefact build ... or scripts/bench_*)")
    if shutil.which("qemu-system-arm") is None:
        raise MissingToolError("qemu-system-arm not found on PATH; install it: sudo apt-get install qemu-system-arm")
    target = get_target(core)
    fmap = FunctionMap.of_elf(elf)
    with tempfile.TemporaryDirectory(prefix="ef_profile_") as tmp:
        fifo = Path(tmp) / "exec.log"
        os.mkfifo(fifo)
        cmd = qemu_command(target, elf, icount=False, serial="null",
                           extra=[*_one_insn_flags(qemu_binary()), "-d", "exec,nochain", "-D", str(fifo)])
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result: list[Profile] = []

        def read() -> None:
            with fifo.open("rb", buffering=1 << 20) as f:
                result.append(count_trace(f, fmap))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise EdgefactError(f"{elf}: still running after {timeout_s:.0f} s under the profiler") from None
        finally:
            reader.join(timeout=60)
    if rc != 0 or not result:
        raise EdgefactError(f"{elf}: QEMU exited with status {rc} under the profiler; does it run with "
                            f"'edgefact run'?")
    return result[0]


def annotate(elf: str | os.PathLike[str], function: str, profile: Profile, divisor: int = 1) -> str:
    """The disassembly of ``function`` with each instruction's count (divided by ``divisor``)."""
    objdump = shutil.which("arm-none-eabi-objdump")
    if objdump is None:
        raise MissingToolError("arm-none-eabi-objdump not found on PATH; install it: "
                               "sudo apt-get install gcc-arm-none-eabi")
    # armv8.1-m.main decodes every M-profile core's code, MVE included (the ELF alone does not say it)
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-m", "armv8.1-m.main", f"--disassemble={function}",
                          str(elf)],
                         capture_output=True, text=True, check=False).stdout
    lines: list[str] = []
    for line in out.splitlines():
        head = line.split(":", 1)[0].strip()
        if re.fullmatch(r"[0-9a-f]+", head) and ":\t" in line:
            lines.append(f"{profile.pcs.get(int(head, 16), 0) // max(divisor, 1):>10} {line}")
        elif line.strip().endswith(">:"):
            lines.append(line)
    if not lines:
        raise EdgefactError(f"{elf}: no function '{function}' to annotate")
    return "\n".join(lines)


__all__ = ["HARNESS_PREFIXES", "RUN_FUNCTION", "FunctionMap", "Profile", "annotate", "count_trace", "profile_firmware"]
