"""Real-part board ports: every board's hardware firmware compiles with -Wall -Wextra
-Werror and links inside the part's real flash/RAM (checked against the datasheet figures typed
below, not against the TOML), the budgets, the UART drivers (nRF UART on QEMU's micro:bit UART
model; STM32 USART/LPUART against a register model on the host), the corstone-300 image on QEMU,
and the CLI flags."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.errors import EdgefactError, ModelTooLargeError
from edgefact.firmware.boards import BoardPortError, boards_with_ports, hardware_port
from edgefact.targets import get_target

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "test_boards_ports"
HAVE_ARM = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm"))
needs_arm = pytest.mark.skipif(not HAVE_ARM, reason="needs arm-none-eabi-gcc and qemu-system-arm")
K, M = 1024, 1024 * 1024

# From the vendors' manuals (see docs/boards.md): flash (origin, size), RAM regions the image may
# use, where the vector table must be, the reset clock.
PARTS = {
    "stm32f746g-disco": {"flash": (0x0800_0000, 1 * M), "ram": [(0x2000_0000, 320 * K)], "clock": 16_000_000},
    "nucleo-h743zi": {"flash": (0x0800_0000, 2 * M), "ram": [(0x2400_0000, 512 * K), (0x2000_0000, 128 * K)],
                      "clock": 64_000_000},
    "nucleo-l4r5zi": {"flash": (0x0800_0000, 2 * M), "ram": [(0x2000_0000, 640 * K)], "clock": 4_000_000},
    "nucleo-u575zi": {"flash": (0x0800_0000, 2 * M), "ram": [(0x2000_0000, 768 * K)], "clock": 4_000_000},
    "nrf52840dk": {"flash": (0x0000_0000, 1 * M), "ram": [(0x2000_0000, 256 * K)], "clock": 64_000_000},
    "corstone-300": {"flash": (0x3800_0000, 8 * M), "vectors": (0x1000_0000, 512 * K),
                     "ram": [(0x3100_0000, 4 * M), (0x3000_0000, 512 * K)], "clock": 32_000_000},
}
RUN_DEFINES = {"EF_BENCH_RUNS": 1, "EF_BENCH_WARMUP": 1}  # what `edgefact run` passes: shares the cache


def _build(board: str, sources: list[Path] | None = None, out: Path | None = None,
           defines: dict | None = None) -> Path:
    from edgefact.firmware.build import DEMO_SOURCES, build_firmware

    return build_firmware(get_target(board), sources or list(DEMO_SOURCES), [], out or CACHE / board,
                          defines=defines or dict(RUN_DEFINES), hardware=True)


@pytest.fixture(scope="session")
def hw_elfs() -> dict[str, Path]:
    if not HAVE_ARM:
        pytest.skip("needs arm-none-eabi-gcc")
    return {b: _build(b) for b in PARTS}


def test_every_board_has_a_port() -> None:
    assert sorted(boards_with_ports()) == sorted(PARTS)


def _inside(lo: int, size: int, regions: list[tuple[int, int]]) -> bool:
    return any(o <= lo and lo + size <= o + n for o, n in regions)


@needs_arm
@pytest.mark.parametrize("board", sorted(PARTS))
def test_hardware_image_fits_the_real_part(hw_elfs: dict[str, Path], board: str) -> None:
    from elftools.elf.elffile import ELFFile

    from edgefact.firmware.build import build_info

    part = PARTS[board]
    flash = [part["flash"]] + ([part["vectors"]] if "vectors" in part else [])
    elf = hw_elfs[board]
    info = build_info(elf)
    assert info is not None and info["unit"] == "cycles (device)"
    assert {"-Wall", "-Wextra", "-Werror"} <= set(info["cflags"])
    d = info["defines"]
    assert d["EF_TIMER_DWT"] == 1 and d["EF_LOG_SEMIHOST"] == 0 and d["EF_LOG_RTT"] == 1
    assert d["EF_CPU_CLOCK_HZ"] == f"{part['clock']}u"
    assert "EF_TIMER_CMSDK_DUALTIMER" not in d and "EF_TIMER_SSE300_COUNTER" not in d
    with open(elf, "rb") as f:
        ef = ELFFile(f)
        for sec in ef.iter_sections():
            if not sec["sh_flags"] & 0x2 or sec["sh_size"] == 0:  # SHF_ALLOC
                continue
            regions = part["ram"] if sec["sh_flags"] & 0x1 else flash  # SHF_WRITE -> RAM
            assert _inside(sec["sh_addr"], sec["sh_size"], regions), (sec.name, hex(sec["sh_addr"]))
        for seg in ef.iter_segments():  # every loaded byte is programmed into flash
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]:
                assert _inside(seg["p_paddr"], seg["p_filesz"], flash), hex(seg["p_paddr"])
        vec = ef.get_section_by_name(".vectors")
        assert vec["sh_addr"] == part.get("vectors", part["flash"])[0]
        sp, reset = int.from_bytes(vec.data()[:4], "little"), int.from_bytes(vec.data()[4:8], "little")
        assert sp % 8 == 0 and any(o < sp <= o + n for o, n in part["ram"]), hex(sp)
        assert reset & 1 and _inside(reset & ~1, 2, flash), hex(reset)
        syms = {s.name: s["st_value"] for s in ef.get_section_by_name(".symtab").iter_symbols()}
    assert _inside(syms["_SEGGER_RTT"], 24 + 2 * 24, part["ram"])
    assert "ef_board_init" in syms and "ef_board_putc" in syms
    # no semihosting call: without a debugger a BKPT stops the real core
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True).stdout
    assert not re.search(r"\bbkpt\s+0x00ab\b", dis, re.IGNORECASE)
    # the budget of the board file agrees with the part

    tgt = get_target(board)
    assert tgt.flash_bytes <= part["flash"][1]


_BIG_APP = """
#include <stdint.h>
#include "ef_app.h"
#include "ef_log.h"
volatile unsigned ef_index; /* unknown to the compiler: the array is kept whole */
#ifdef EF_BIG_FLASH
const int8_t weights[EF_BIG_FLASH] = {1};
#define EF_TOUCH weights[ef_index]
#else
int8_t arena[EF_BIG_RAM];
#define EF_TOUCH arena[ef_index]
#endif
volatile int8_t ef_sink;
int ef_app_setup(void) { return 0; }
int ef_app_run(void) { ef_sink = EF_TOUCH; return 0; }
void ef_app_report(void) { ef_log_checksum("x", (uint32_t)ef_sink); }
"""


@needs_arm
def test_budget_and_real_regions(tmp_path: Path) -> None:
    app = tmp_path / "big.c"
    app.write_text(_BIG_APP)
    # nRF52840: 1 MB flash, 256 KB RAM
    with pytest.raises(ModelTooLargeError, match="FLASH"):
        _build("nrf52840dk", [app], tmp_path / "f", {"EF_BIG_FLASH": 1100 * K})
    with pytest.raises(ModelTooLargeError, match="RAM"):
        _build("nrf52840dk", [app], tmp_path / "r", {"EF_BIG_RAM": 250 * K})
    # H7: the 1 MB budget is spread over banks; .bss goes to the 512 KB AXI SRAM, so 600 KB fails
    with pytest.raises(ModelTooLargeError, match="AXI_SRAM"):
        _build("nucleo-h743zi", [app], tmp_path / "h", {"EF_BIG_RAM": 600 * K})
    elf = _build("nucleo-h743zi", [app], tmp_path / "ok", {"EF_BIG_RAM": 400 * K})
    assert elf.is_file()


# ------------------------------------------------------------------ UART drivers
_MICROBIT_MAIN = r"""
#include <stdint.h>
void ef_board_init(void);
void ef_board_putc(char c);
void ef_test_reset(void);
__attribute__((section(".vectors"), used)) void (*const ef_test_vectors[2])(void) = {
    (void (*)(void))0x20004000u, ef_test_reset};
void ef_test_reset(void)
{
    static const char text[] = "EF nrf uart 0123456789 ok\n";
    ef_board_init();
    for (const char *p = text; *p; ++p) {
        ef_board_putc(*p);
    }
    register uint32_t r0 __asm__("r0") = 0x18u;    /* SYS_EXIT */
    register uint32_t r1 __asm__("r1") = 0x20026u; /* ADP_Stopped_ApplicationExit */
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) {
    }
}
"""
_MICROBIT_LD = """
MEMORY { FLASH (rx) : ORIGIN = 0, LENGTH = 256K  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 16K }
ENTRY(ef_test_reset)
SECTIONS { .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) } > FLASH  .bss : { *(.bss*) *(COMMON) } > RAM }
"""


@needs_arm
@pytest.mark.qemu
def test_nrf_uart_driver_on_qemu_microbit(tmp_path: Path) -> None:
    """The nRF52840 port's UART0 code (legacy UART: same registers and base address as the nRF51's)
    runs on QEMU's micro:bit (nRF51822, Cortex-M0) UART model and the bytes arrive on its serial."""
    port = hardware_port(get_target("nrf52840dk"))
    (tmp_path / "ef_board_cfg.h").write_text(port.config_header())
    (tmp_path / "main.c").write_text(_MICROBIT_MAIN)
    (tmp_path / "link.ld").write_text(_MICROBIT_LD)
    elf = tmp_path / "t.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m0", "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror",
                    "-O2", "-nostartfiles", "-nostdlib", "-T", str(tmp_path / "link.ld"), f"-I{tmp_path}",
                    str(port.source), str(tmp_path / "main.c"), "-o", str(elf)], check=True)
    proc = subprocess.run(["qemu-system-arm", "-M", "microbit", "-display", "none", "-monitor", "none", "-nodefaults",
                           "-serial", "stdio", "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                          capture_output=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"EF nrf uart 0123456789 ok\n"


# Register values each STM32 port must leave behind (reference manuals, see docs/boards.md):
# (clock/supply enables in order, GPIO base, pin, AF, UART base, BRR)
STM32_EXPECTED = {
    "stm32f746g-disco": ([(0x40023830, 0x1), (0x40023844, 0x10)], 0x40020000, 9, 7, 0x40011000, 139),
    "nucleo-h743zi": ([(0x580244E0, 0x8), (0x580244E8, 1 << 18)], 0x58020C00, 8, 7, 0x40004800, 556),
    "nucleo-l4r5zi": ([(0x40021058, 1 << 28), (0x40007004, 1 << 9), (0x4002104C, 1 << 6), (0x4002105C, 0x1)],
                      0x48001800, 7, 8, 0x40008000, 8889),
    "nucleo-u575zi": ([(0x46020C8C, 0x1), (0x46020CA4, 1 << 14)], 0x42020000, 9, 7, 0x40013800, 35),
}


@pytest.mark.parametrize("board", sorted(STM32_EXPECTED))
def test_stm32_uart_driver_against_register_model(tmp_path: Path, board: str) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    port = hardware_port(get_target(board))
    (tmp_path / "ef_board_cfg.h").write_text(port.config_header())
    exe = tmp_path / "model"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", f"-I{tmp_path}",
                    f"-I{port.source.parent}", str(ROOT / "tests" / "boards_stm32_host.c"), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    regs = {int(a, 16): int(v, 16) for _, a, v in (line.split() for line in out if line.startswith("reg "))}
    order = [int(line.split()[1], 16) for line in out if line.startswith("order ")][1:]  # [0]: the seeded MODER
    tx = [int(line.split()[1]) for line in out if line.startswith("tx ")]
    enables, gpio, pin, af, uart, brr = STM32_EXPECTED[board]
    for reg, bits in enables:
        assert regs[reg] == bits
    assert [order.index(r) for r, _ in enables] == sorted(order.index(r) for r, _ in enables)
    first_use = min(order.index(a) for a in (gpio + 0x08, uart))
    assert all(order.index(r) < first_use for r, _ in enables)  # clocks on before the peripherals are touched
    moder = (0xFFFFFFFF & ~(3 << 2 * pin)) | (2 << 2 * pin)  # AF mode, other pins untouched
    assert regs[gpio] == moder
    assert regs[gpio + 0x20 + 4 * (pin // 8)] == af << 4 * (pin % 8)
    assert regs[uart + 0x0C] == brr and regs[uart] == 0x9  # BRR; CR1 = TE | UE
    assert tx == [ord("E"), ord("F"), ord("\n")]


@needs_arm
@pytest.mark.qemu
def test_corstone300_hardware_image_runs_on_qemu(hw_elfs: dict[str, Path]) -> None:
    """Corstone-300 has QEMU's mps3-an547 map: its real-part image (CMSDK port, DWT, RTT) runs there."""
    from edgefact.targets.runners import get_runner

    res = get_runner("qemu").run(hw_elfs["corstone-300"], get_target("corstone-300"), timeout_s=60)
    assert res.ok and res.unit == "cycles (device)"
    assert res.log.hello["clock_hz"] == 32_000_000
    assert set(res.regions) == {"fc1", "relu", "fc2"}  # the demo's regions (DWT reads 0 under QEMU)
    assert res.log.checksums


# ------------------------------------------------------------------ CLI and errors
def _text(result: object) -> str:
    return f"{getattr(result, 'output', '')} {getattr(result, 'exception', '')}"


@needs_arm
def test_cli_hardware_flag(hw_elfs: dict[str, Path]) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["run", "--target", "nucleo-h743zi", "--hardware", "--no-run",
                            "--out", str(CACHE / "nucleo-h743zi")])
    assert r.exit_code == 0, r.output
    assert str(hw_elfs["nucleo-h743zi"]) in r.output and "edgefact bench --target nucleo-h743zi" in r.output
    r = runner.invoke(cli, ["run", "--target", "cortex-m4", "--hardware", "--no-run", "--out", str(CACHE / "x")])
    assert r.exit_code != 0 and "nucleo-h743zi" in _text(r) and "emulated core" in _text(r)
    # a real-part image is refused by QEMU, an emulator image of the board by the probe runners
    r = runner.invoke(cli, ["bench", "--target", "nucleo-h743zi", "--runner", "qemu", str(hw_elfs["nucleo-h743zi"])])
    assert r.exit_code != 0 and "does not run on QEMU" in _text(r)
    from edgefact.targets.runners import check_elf_for_runner

    with pytest.raises(BoardPortError, match="does not run on QEMU"):  # gdb without a server starts QEMU
        check_elf_for_runner(hw_elfs["nucleo-h743zi"], get_target("nucleo-h743zi"), "gdb")
    check_elf_for_runner(hw_elfs["nucleo-h743zi"], get_target("nucleo-h743zi"), "gdb", gdb_server="localhost:3333")
    check_elf_for_runner(hw_elfs["corstone-300"], get_target("corstone-300"), "qemu")  # same map as QEMU
    r = runner.invoke(cli, ["flash", "--target", "nrf52840dk", str(hw_elfs["nucleo-h743zi"])])
    assert r.exit_code != 0 and "built for the nucleo-h743zi part" in _text(r)


@needs_arm
def test_emulator_image_refused_by_board_runners(tmp_path: Path) -> None:
    from edgefact.firmware.build import DEMO_SOURCES, build_firmware
    from edgefact.targets.runners import check_elf_for_runner

    elf = build_firmware(get_target("nrf52840dk"), list(DEMO_SOURCES), [], CACHE / "nrf-emulated")
    tgt = get_target("nrf52840dk")
    for runner, server in (("pyocd", None), ("serial", None), ("gdb", "localhost:3333")):
        with pytest.raises(BoardPortError, match="--hardware"):
            check_elf_for_runner(elf, tgt, runner, gdb_server=server)
    check_elf_for_runner(elf, tgt, "qemu")
    check_elf_for_runner(elf, tgt, "gdb")  # no server: QEMU's gdbstub


def test_port_table_errors(monkeypatch: pytest.MonkeyPatch) -> None:

    with pytest.raises(EdgefactError, match="nucleo-h743zi"):
        hardware_port(get_target("cortex-m7"))
    tgt = get_target("nucleo-l4r5zi")
    good = dict(tgt.extra["hardware"])
    bad = {**good, "uart_kind": "spi"}
    monkeypatch.setitem(tgt.extra, "hardware", bad)
    with pytest.raises(BoardPortError, match="valid: usart, lpuart"):
        hardware_port(tgt)
    monkeypatch.setitem(tgt.extra, "hardware", {**good, "uart_kind": "usart", "baud": 921600})
    with pytest.raises(BoardPortError, match="too fast"):
        hardware_port(tgt)
    monkeypatch.setitem(tgt.extra, "hardware", {k: v for k, v in good.items() if k != "memory"})
    with pytest.raises(BoardPortError, match="missing key 'memory'"):
        hardware_port(tgt)
