"""Firmware template on the four emulated cores (one QEMU run each), host build, errors, memory report.

Builds go to .cache/foundation/<name>; build_firmware skips a build whose inputs (sources, flags,
headers, linker script) hash to the same key, so re-runs only pay for QEMU.
"""

from __future__ import annotations

import shutil
import subprocess
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.errors import EdgefactError, MissingToolError, ModelTooLargeError
from edgefact.firmware.build import DEMO_SOURCES, SELFTEST_SOURCES, build_firmware, build_info
from edgefact.firmware.elf import memory_report, parse_stack_usage
from edgefact.targets import get_target
from edgefact.targets.runners import FirmwareFaultError, RunResult, RunTimeoutError, get_runner
from edgefact.units import UNIT_EMULATED

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "foundation"
CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
N1, N2 = 1000, 100000  # loop lengths compiled into the selftest app

needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                               reason="needs arm-none-eabi-gcc and qemu-system-arm (scripts/setup installs them)")


def _build(core: str, name: str, sources, defines=None) -> Path:  # type: ignore[no-untyped-def]
    return build_firmware(get_target(core), sources, [], CACHE / f"{core}-{name}", defines=defines)


@pytest.fixture(scope="session")
def selftest() -> dict[str, tuple[Path, RunResult]]:
    """Selftest app (2 timed runs) built and run once per core, two cores at a time."""

    def one(core: str) -> tuple[Path, RunResult]:
        elf = _build(core, "selftest", SELFTEST_SOURCES, {"EF_BENCH_RUNS": 2})
        return elf, get_runner("qemu").run(elf, get_target(core), timeout_s=30)

    with ThreadPoolExecutor(max_workers=2) as ex:
        return dict(zip(CORES, ex.map(one, CORES), strict=True))


@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("core", CORES)
def test_template_runs_with_status_0(selftest, core: str) -> None:  # type: ignore[no-untyped-def]
    elf, res = selftest[core]
    assert res.exit_status == 0 and res.log.status == 0 and res.ok
    assert res.log.errors == []
    hello = res.log.hello
    assert hello is not None
    assert hello["target"] == core and hello["unit"] == UNIT_EMULATED == res.unit
    assert hello["build"] == build_info(elf)["build_id"]
    assert hello["runs"] == 2 and len(res.totals) == 2


@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("core", CORES)
def test_exact_instruction_counts(selftest, core: str) -> None:  # type: ignore[no-untyped-def]
    """ef_calib_loop(n) executes 2n+2 instructions: counts must differ by exactly 2n."""
    _, res = selftest[core]
    r = res.regions
    assert r["loop_1000"] - r["loop_0"] == 2 * N1
    assert r["loop_n2"] - r["loop_0"] == 2 * N2
    # absolute: the caller's 3 instructions (address of n, load n, bl) + the loop's 2n+2
    # (gcc 12 -O2 emits exactly that between the hooks on all four cores)
    assert r["loop_0"] == 5
    assert r["loop_1000"] == 2 * N1 + 5
    # hook overhead is calibrated away exactly
    assert r["empty"] == 0
    # emulated counts are deterministic run to run
    assert res.totals[0] == res.totals[1]
    assert res.totals[0] >= sum(r.values())


@needs_arm
@pytest.mark.qemu
def test_exact_count_across_32bit_timer_wrap() -> None:
    """200 M instructions > 2^32 ticks of the 25 MHz dual timer: the 64-bit extension must hold."""
    n = 100_000_000
    elf = _build("cortex-m4", "long", SELFTEST_SOURCES, {"EF_SELFTEST_N2": f"{n}u", "EF_BENCH_WARMUP": 0})
    res = get_runner("qemu").run(elf, get_target("cortex-m4"), timeout_s=60)
    assert res.ok
    assert res.regions["loop_n2"] - res.regions["loop_0"] == 2 * n
    assert res.totals[0] > 2**32 / 25.6


@needs_arm
@pytest.mark.qemu
def test_semihosting_channel_and_dwt_board_build() -> None:
    """The log reads the same on semihosting; a real-board build (DWT, UART only) says cycles (device)."""
    elf = _build("cortex-m7", "demo", DEMO_SOURCES)
    uart = get_runner("qemu").run(elf, get_target("cortex-m7"), timeout_s=30)
    semi = get_runner("qemu", channel="semihosting").run(elf, get_target("cortex-m7"), timeout_s=30)
    assert [r.data for r in semi.log.records] == [r.data for r in uart.log.records]
    assert uart.ok and semi.ok
    # the real-board configuration: DWT cycles, UART only, no semihosting exit (parks after "end")
    dwt = _build("cortex-m7", "dwt", DEMO_SOURCES, {"EF_TIMER_DWT": 1, "EF_LOG_SEMIHOST": 0})
    assert build_info(dwt)["unit"] == "cycles (device)"
    res = get_runner("qemu").run(dwt, get_target("stm32f746g-disco"), timeout_s=30)
    assert res.ok and res.unit == "cycles (device)"
    assert res.wall_s < 10  # stopped after the end record, not by the timeout
    assert res.log.checksums == uart.log.checksums
    assert all(v == 0 for v in res.regions.values())  # QEMU does not model CYCCNT


@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("core", CORES)
def test_stack_of_known_frame_equals_fstack_usage(selftest, core: str) -> None:  # type: ignore[no-untyped-def]
    elf, res = selftest[core]
    su = {}
    for f in (elf.parent / "obj").glob("*.su"):
        su.update(parse_stack_usage(f.read_text()))
    expected, kind = su["ef_selftest_frame"]
    assert kind == "static"
    measured = {m.get("name"): m.get("value") for m in res.log.of_type("metric")}["frame_stack"]
    assert measured == expected
    assert 0 < res.peak_stack < res.log.first("stack").get("size")


@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("core", CORES)
def test_memory_report_equals_arm_none_eabi_size(selftest, core: str) -> None:  # type: ignore[no-untyped-def]
    elf, _ = selftest[core]
    out = subprocess.run(["arm-none-eabi-size", "-B", str(elf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    text, data, bss = map(int, out[:3])
    rep = memory_report(elf)
    assert (rep.text, rep.data, rep.bss) == (text, data, bss)
    assert rep.flash_bytes == text + data and rep.ram_bytes == data + bss
    assert rep.stack_size == 32 * 1024
    names = [s.name for s in rep.largest(50)]
    assert "ef_regions" in names and "main" in names


@needs_arm
@pytest.mark.qemu
def test_fault_gives_registers() -> None:
    elf = _build("cortex-m4", "fault", SELFTEST_SOURCES, {"EF_SELFTEST_MODE": 1})
    with pytest.raises(FirmwareFaultError) as ei:
        get_runner("qemu").run(elf, get_target("cortex-m4"), timeout_s=30)
    regs = ei.value.registers
    assert regs["bfar"] == 0xF0000000
    assert regs["cfsr"] & (1 << 15) and regs["cfsr"] & (1 << 9)  # BFARVALID, PRECISERR
    assert regs["function"] == "ef_app_run"
    assert ei.value.exit_status == 3
    msg = str(ei.value)
    assert "CFSR=0x00008200" in msg and "BFAR=0xf0000000" in msg and "PC=0x" in msg and "LR=0x" in msg


OVERFLOW = r"""
#include <stdint.h>
#include "ef_app.h"
static volatile uint32_t sink;
static uint32_t recurse(uint32_t n)
{
    volatile uint8_t buf[256];
    buf[0] = (uint8_t)n;
    return n == 0 ? buf[0] : recurse(n - 1) + buf[0];
}
int ef_app_setup(void) { return 0; }
int ef_app_run(void) { sink = recurse(100000); return 0; }
void ef_app_report(void) {}
"""


@needs_arm
@pytest.mark.qemu
def test_stack_overflow_faults_on_armv8m(tmp_path: Path) -> None:
    src = tmp_path / "overflow.c"
    src.write_text(OVERFLOW)
    elf = build_firmware(get_target("cortex-m33"), [src], [], CACHE / "cortex-m33-overflow")
    with pytest.raises(FirmwareFaultError, match=r"STKOF") as ei:
        get_runner("qemu").run(elf, get_target("cortex-m33"), timeout_s=30)
    assert ei.value.registers["function"] == "recurse"


@needs_arm
@pytest.mark.qemu
def test_hang_times_out_with_log_tail() -> None:
    elf = _build("cortex-m33", "hang", SELFTEST_SOURCES, {"EF_SELFTEST_MODE": 2})
    with pytest.raises(RunTimeoutError) as ei:
        get_runner("qemu").run(elf, get_target("cortex-m33"), timeout_s=1.5)
    assert any('"t":"hello"' in line for line in ei.value.tail)
    assert "did not exit within 1.5 s" in str(ei.value) and "last log lines" in str(ei.value)


BIG_CONST = r"""
#include <stdint.h>
#include "ef_app.h"
#include "ef_log.h"
#include "ef_profile.h"
#define N (768u * 1024u)
/* 768 KB of constants (weights-like), generated by a formula the test repeats in Python */
#define B(i) (uint8_t)((i) * 7u + ((i) >> 9))
static const uint8_t big[N] = {
#include "big.inc"
};
static uint32_t crc;
int ef_app_setup(void) { return 0; }
int ef_app_run(void) { EF_PROFILE_BEGIN(0, "crc"); crc = ef_crc32(big, N); EF_PROFILE_END(0); return 0; }
void ef_app_report(void) { ef_log_checksum("big", crc); }
"""


def _big_data() -> bytes:
    return bytes(((i * 7) + (i >> 9)) & 0xFF for i in range(768 * 1024))


@needs_arm
@pytest.mark.qemu
def test_large_constant_data_fits_on_m55(tmp_path: Path) -> None:
    """768 KB of const data (ITCM is only 512 KB) must link into QSPI and be read correctly."""
    src_dir = CACHE / "bigconst-src"
    src_dir.mkdir(parents=True, exist_ok=True)
    data = _big_data()
    inc = src_dir / "big.inc"
    if not inc.exists():
        inc.write_text(",\n".join(",".join(str(b) for b in data[i:i + 64]) for i in range(0, len(data), 64)))
    (src_dir / "big.c").write_text(BIG_CONST)
    elf = build_firmware(get_target("cortex-m55"), [src_dir / "big.c"], [src_dir], CACHE / "cortex-m55-bigconst")
    rep = memory_report(elf)
    rodata = next(s for s in rep.sections if s.name == ".rodata")
    assert rodata.size >= len(data) and 0x38000000 <= rodata.address < 0x38800000
    res = get_runner("qemu").run(elf, get_target("cortex-m55"), timeout_s=60)
    assert res.ok
    assert res.log.checksums["big"] == f"{zlib.crc32(data):08x}"


BIG_BSS = r"""
#include <stdint.h>
#include "ef_app.h"
static uint8_t arena[300u * 1024u];
int ef_app_setup(void) { return 0; }
int ef_app_run(void) { arena[0]++; return arena[0] == 0; }
void ef_app_report(void) {}
"""


@needs_arm
def test_board_ram_budget_is_checked(tmp_path: Path) -> None:
    src = tmp_path / "big_bss.c"
    src.write_text(BIG_BSS)
    with pytest.raises(ModelTooLargeError, match=r"does not fit nrf52840dk: RAM \d+ B > 262144 B"):
        build_firmware(get_target("nrf52840dk"), [src], [], tmp_path / "nrf")
    # the same image fits the core's 4 MB emulated RAM and a 640 KB board
    assert build_firmware(get_target("nucleo-l4r5zi"), [src], [], tmp_path / "l4").is_file()


def test_missing_toolchain_names_the_apt_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="arm-none-eabi-gcc not found.*apt-get install gcc-arm-none-eabi"):
        build_firmware(get_target("cortex-m4"), DEMO_SOURCES, [], tmp_path / "x")
    from edgefact.targets.runners.qemu import qemu_binary

    with pytest.raises(MissingToolError, match="qemu-system-arm not found.*apt-get install qemu-system-arm"):
        qemu_binary()


def test_compile_error_is_reported_with_compiler_output(tmp_path: Path) -> None:
    src = tmp_path / "bad.c"
    src.write_text("int ef_app_setup(void) { int unused; return 0; }\n")
    with pytest.raises(EdgefactError, match="(?s)compiling bad.c failed.*unused variable"):
        build_firmware(get_target("host"), [src], [], tmp_path / "b")


def test_host_demo_matches_emulated_checksum_and_log_cuts_long_records(tmp_path: Path) -> None:
    elf = build_firmware(get_target("host"), DEMO_SOURCES, [], CACHE / "host-demo")
    res = get_runner("host").run(elf, get_target("host"), timeout_s=30)
    assert res.ok and res.unit == "ns (host)" and res.log.errors == []
    assert set(res.regions) == {"fc1", "relu", "fc2"}
    assert res.peak_stack is None
    out = res.log.outputs()["output"]
    assert len(out) == 10
    assert res.log.checksums["output"] == f"{zlib.crc32(bytes(v & 0xFF for v in out)):08x}"
    # a record longer than the log buffer is cut at a key boundary, still valid and marked
    src = tmp_path / "long.c"
    src.write_text(r"""
#include <stdint.h>
#include "ef_app.h"
#include "ef_log.h"
static int32_t v[200];
int ef_app_setup(void) { for (int i = 0; i < 200; ++i) v[i] = -1000000 - i; return 0; }
int ef_app_run(void) { return 0; }
void ef_app_report(void) { ef_log_begin("metric"); ef_log_str("name", "long"); ef_log_i32_array("v", v, 200);
  ef_log_end(); ef_log_output_i8("y", (const int8_t *)v, 150); }
""")
    res = get_runner("host").run(build_firmware(get_target("host"), [src], [], tmp_path / "long"), get_target("host"))
    assert res.log.errors == []
    m = res.log.of_type("metric")[0]
    assert m.get("cut") == 1 and "v" not in m.data and m.get("name") == "long"
    assert len(res.log.outputs()["y"]) == 150


@needs_arm
@pytest.mark.qemu
def test_run_command_prints_figures(selftest) -> None:  # type: ignore[no-untyped-def]
    out = CACHE / "cli-demo"
    res = CliRunner().invoke(cli, ["run", "--target", "stm32f746g-disco", "--out", str(out)])
    assert res.exit_code == 0, res.output
    for s in ("unit: instructions (emulated)", "fc1", "fc2", "estimate at 216 MHz", "peak stack:",
              "checksum output:", "status: 0"):
        assert s in res.output
    mem = CliRunner().invoke(cli, ["memory", str(out / "firmware.elf"), "--log", str(out / "run.log")])
    assert mem.exit_code == 0, mem.output
    assert "flash" in mem.output and "largest symbols" in mem.output and "measured (painted stack)" in mem.output
