"""Target registry, TOML validation, `edgefact targets`, runner registry and the QEMU command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.errors import EdgefactError
from edgefact.targets import (
    TargetDataError,
    all_targets,
    get_target,
    parse_board,
    parse_core,
)
from edgefact.targets.runners import Runner, RunnerCapabilities, get_runner, register_runner
from edgefact.targets.runners.qemu import qemu_command
from edgefact.units import UNIT_EMULATED, UNIT_HOST

CORES = {"cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500", "cortex-m33": "mps2-an505",
         "cortex-m55": "mps3-an547"}
BOARDS = {  # name: (core, clock, flash, ram)
    "stm32f746g-disco": ("cortex-m7", 216_000_000, 1 << 20, 320 * 1024),
    "nucleo-h743zi": ("cortex-m7", 480_000_000, 2 << 20, 1 << 20),
    "nucleo-l4r5zi": ("cortex-m4", 120_000_000, 2 << 20, 640 * 1024),
    "nrf52840dk": ("cortex-m4", 64_000_000, 1 << 20, 256 * 1024),
    "nucleo-u575zi": ("cortex-m33", 160_000_000, 2 << 20, 786 * 1024),
    "corstone-300": ("cortex-m55", 32_000_000, 4 << 20, 4 << 20),
}


def test_cores_map_to_their_qemu_machines() -> None:
    for name, machine in CORES.items():
        t = get_target(name)
        assert (t.kind, t.core, t.qemu_machine, t.unit) == ("core", name, machine, UNIT_EMULATED)
        assert f"-mcpu={name}" in t.cpu_flags and "-mfloat-abi=hard" in t.cpu_flags
        assert (Path(__file__).parents[1] / "edgefact/firmware/template/ld" / t.linker_script).is_file()
    host = get_target("host")
    assert host.kind == "host" and host.qemu_machine is None and host.unit == UNIT_HOST


def test_boards_carry_budget_and_clock_and_run_on_their_core() -> None:
    for name, (core, clock, flash, ram) in BOARDS.items():
        b = get_target(name)
        c = get_target(core)
        assert (b.kind, b.core, b.clock_hz, b.flash_bytes, b.ram_bytes) == ("board", core, clock, flash, ram)
        assert (b.qemu_machine, b.cpu_flags, b.linker_script, b.timer) == (c.qemu_machine, c.cpu_flags,
                                                                           c.linker_script, c.timer)
    assert get_target("stm32f746g-disco").estimate_ms(216_000) == pytest.approx(1.0)
    assert get_target("cortex-m4").estimate_ms(1000) is None


def test_unknown_target_lists_valid_names() -> None:
    with pytest.raises(EdgefactError) as ei:
        get_target("cortex-m99")
    msg = str(ei.value)
    for name in [*CORES, "host", *BOARDS]:
        assert name in msg


def test_exact_tick_ratio_per_timer() -> None:
    # icount shift=10: f*1024/1e9 timer ticks per instruction
    assert get_target("cortex-m4").timer.ticks_per_instruction() == pytest.approx(25.6)
    assert get_target("cortex-m33").timer.ticks_per_instruction() == pytest.approx(20.48)
    assert get_target("cortex-m55").timer.ticks_per_instruction() == pytest.approx(32.768)


def test_invalid_core_toml_names_the_problem() -> None:
    good = (Path(__file__).parents[1] / "edgefact/targets/data/cores/cortex-m4.toml").read_text()
    assert parse_core(good, "x.toml").name == "cortex-m4"
    with pytest.raises(TargetDataError, match="missing key 'qemu_machine'"):
        parse_core(good.replace('qemu_machine = "mps2-an386"', ""), "x.toml")
    with pytest.raises(TargetDataError, match="timer kind 'bogus' unknown"):
        parse_core(good.replace('"cmsdk-dualtimer"', '"bogus"'), "x.toml")
    with pytest.raises(TargetDataError, match="invalid TOML"):
        parse_core(good + "\n[[[", "x.toml")


def test_invalid_board_toml_names_the_problem() -> None:
    cores = {n: t for n, t in all_targets().items() if t.kind != "board"}
    text = 'name = "b"\ndescription = "d"\ncore = "cortex-m4"\nclock_hz = 1\nflash_bytes = 1\nram_bytes = 1\n'
    assert parse_board(text, "b.toml", cores).core == "cortex-m4"
    with pytest.raises(TargetDataError, match="core 'cortex-m5' unknown; valid cores: cortex-m33"):
        parse_board(text.replace("cortex-m4", "cortex-m5"), "b.toml", cores)
    with pytest.raises(TargetDataError, match="'ram_bytes' must be int"):
        parse_board(text.replace("ram_bytes = 1", 'ram_bytes = "1"'), "b.toml", cores)
    with pytest.raises(TargetDataError, match="must be positive"):
        parse_board(text.replace("clock_hz = 1", "clock_hz = 0"), "b.toml", cores)


def test_targets_command_prints_every_target() -> None:
    res = CliRunner().invoke(cli, ["targets"])
    assert res.exit_code == 0, res.output
    for name in [*CORES, "host", *BOARDS]:
        assert name in res.output
    assert "216 MHz" in res.output and "320.0 KiB" in res.output  # binary prefixes (edgefact.units)


def test_qemu_command_line() -> None:
    cmd = qemu_command(get_target("nucleo-u575zi"), "fw.elf", gdb_port=1234, wait_for_gdb=True)
    joined = " ".join(cmd)
    assert "-M mps2-an505" in joined and "-kernel fw.elf" in joined
    assert "-icount shift=10" in joined
    assert "-semihosting-config enable=on,target=native" in joined
    assert "-gdb tcp::1234" in joined and cmd[-1] == "-S"
    with pytest.raises(EdgefactError, match="no emulator"):
        qemu_command(get_target("host"), "fw")


def test_runner_registry() -> None:
    assert get_runner("qemu").name == "qemu"
    assert get_runner("host").name == "host"
    with pytest.raises(EdgefactError, match="unknown runner 'jtag'; valid runners: .*qemu"):
        get_runner("jtag")

    @register_runner("test-dummy")
    class Dummy(Runner):
        capabilities = RunnerCapabilities(runs_on="native", exact_counts=False, can_flash=False,
                                          log_transports=("stdout",), unit=UNIT_HOST)

        def run(self, artifact, target, timeout_s=60.0, on_record=None):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    r = get_runner("test-dummy", port="/dev/null")
    assert isinstance(r, Dummy) and r.options == {"port": "/dev/null"}
