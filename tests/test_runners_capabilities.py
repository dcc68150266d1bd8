"""Runner capabilities (declared per class), the one runner-option schema, and that nothing outside
``edgefact.targets.runners`` decides by a runner's name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.errors import EdgefactError
from edgefact.targets import get_target
from edgefact.targets.runners import (
    BUILTIN_RUNNERS,
    get_runner,
    option_keys,
    registered_runners,
    runner_capabilities,
    runner_options,
)
from edgefact.targets.runners.capabilities import RunnerCapabilities
from edgefact.units import ICOUNT_SHIFT, UNIT_DEVICE, UNIT_EMULATED, UNIT_HOST

ROOT = Path(__file__).resolve().parents[1] / "edgefact"

# name: (runs_on, exact_counts, can_flash, log transports, unit, real part)
EXPECTED = {
    "qemu": ("emulator", True, False, ("uart", "semihosting"), UNIT_EMULATED, False),
    "host": ("native", False, False, ("stdout",), UNIT_HOST, False),
    "gdb": ("emulator", True, True, ("semihosting", "rtt"), UNIT_EMULATED, False),
    "pyocd": ("board", False, True, ("semihosting", "rtt"), UNIT_DEVICE, True),
    "serial": ("board", False, False, ("uart",), UNIT_DEVICE, True),
}


def test_every_builtin_runner_is_registered_with_capabilities() -> None:
    reg = registered_runners()
    assert {cls.name for cls in BUILTIN_RUNNERS} == set(EXPECTED)
    for cls in BUILTIN_RUNNERS:
        assert reg[cls.name] is cls and isinstance(cls.capabilities, RunnerCapabilities)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capabilities_per_runner(name: str) -> None:
    caps = runner_capabilities(name)
    runs_on, exact, flash, transports, unit, real = EXPECTED[name]
    assert (caps.runs_on, caps.exact_counts, caps.can_flash, caps.log_transports, caps.unit,
            caps.needs_real_part) == (runs_on, exact, flash, transports, unit, real)
    assert caps.needs_emulator == (runs_on == "emulator")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_declared_options_are_the_constructor_keywords_with_their_defaults(name: str) -> None:
    cls = registered_runners()[name]
    params = inspect.signature(cls.__init__).parameters
    for opt in cls.capabilities.options:
        assert opt.name in params, f"{name}: option {opt.name} is not a constructor keyword"
        assert params[opt.name].default == opt.default, (name, opt.name)
        if opt.choices:
            assert opt.default is None or opt.default in opt.choices


def test_gdb_with_a_server_is_a_board_run() -> None:
    caps = runner_capabilities("gdb", {"gdb_server": "localhost:3333"})
    assert caps.needs_real_part and not caps.exact_counts and caps.unit == UNIT_DEVICE
    assert get_runner("gdb", gdb_server="localhost:3333").caps == caps
    assert get_runner("gdb").caps == runner_capabilities("gdb")


# ------------------------------------------------------------------ one QEMU command builder
def test_gdb_runner_builds_qemu_with_the_one_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    import edgefact.targets.runners.gdb as gdb
    from edgefact.targets.runners.qemu import qemu_command

    tgt = get_target("cortex-m7")
    calls: list[dict] = []
    real = gdb.qemu_command

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gdb, "qemu_command", spy)
    cmd = gdb.qemu_gdb_command(tgt, 4321, "gdb")
    assert len(calls) == 1
    assert cmd == qemu_command(tgt, None, serial="null", semihosting="gdb", gdb_port=4321, gdb_host="127.0.0.1",
                               wait_for_gdb=True)
    joined = " ".join(cmd)
    assert f"-icount shift={ICOUNT_SHIFT}" in joined and "-gdb tcp:127.0.0.1:4321" in joined and cmd[-1] == "-S"
    assert "-semihosting-config enable=on,target=gdb" in joined and "-kernel" not in cmd
    assert "target=native" in " ".join(gdb.qemu_gdb_command(tgt, 1, "chardev"))
    # and no second copy of the emulation options in the gdb module
    source = Path(gdb.__file__).read_text()
    assert "-icount" not in source and "shift=" not in source


# ------------------------------------------------------------------ no runner names outside the runners
def _literals(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [v for e in node.elts for v in _literals(e)]
    return []


def runner_name_comparisons(source: str, names: set[str]) -> list[str]:
    """``x == "qemu"``, ``runner in ("pyocd", "serial")``...: comparisons with a runner name literal.

    "host" is also a target kind, so it counts only when the other side mentions a runner.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for i, operand in enumerate(operands):
            others = " ".join(ast.unparse(o) for j, o in enumerate(operands) if j != i).lower()
            for lit in _literals(operand):
                if lit in names and (lit != "host" or "runner" in others):
                    found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_scan_sees_a_runner_name_comparison() -> None:
    names = set(registered_runners())
    assert runner_name_comparisons('if runner_kind == "qemu":\n    pass\n', names)
    assert runner_name_comparisons('ok = r in ("pyocd", "serial")\n', names)
    assert runner_name_comparisons('ok = cfg.runner != "host"\n', names)
    assert not runner_name_comparisons('ok = target.kind == "host"\n', names)


def test_no_module_outside_the_runners_compares_a_runner_name() -> None:
    names = set(registered_runners())
    runners_dir = ROOT / "targets" / "runners"
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        if runners_dir in path.parents:
            continue
        bad += [f"{path.relative_to(ROOT.parent)} {hit}" for hit in runner_name_comparisons(path.read_text(), names)]
    assert not bad, "decide by capabilities (runner.caps / runner_capabilities), not by name:\n" + "\n".join(bad)


# ------------------------------------------------------------------ one option schema
def test_option_schema_keys_and_mapping() -> None:
    keys = option_keys()
    assert {"port", "baud", "gdb_server", "server_kind", "probe", "pyocd_target", "frequency", "pyocd_pack"} <= set(keys)
    assert len(keys) == len(set(keys))
    assert runner_options("pyocd", {"probe": "0669", "pyocd_target": "stm32h743xx", "port": "/dev/x"}) == {
        "probe": "0669", "target_type": "stm32h743xx"}
    assert runner_options("gdb", {"gdb_server": "localhost:3333", "server_kind": "openocd"}) == {
        "gdb_server": "localhost:3333", "server": "openocd"}
    assert runner_options("qemu", {"port": "/dev/x"}) == {}
    with pytest.raises(EdgefactError, match="needs --port"):
        runner_options("serial", {})
    with pytest.raises(EdgefactError, match="'baud' must be int"):
        runner_options("serial", {"port": "/dev/x", "baud": "fast"})
    with pytest.raises(EdgefactError, match="server_kind.*valid: qemu, openocd"):
        runner_options("gdb", {"server_kind": "bogus"})


def test_build_config_and_cli_take_every_runner_option(tmp_path: Path) -> None:
    from edgefact.pipeline.config import load_config_file, make_config

    f = tmp_path / "edgefact.toml"
    f.write_text('[build]\nrunner = "pyocd"\nprobe = "0669FF"\npyocd_target = "stm32h743xx"\nfrequency = 4000000\n')
    cfg = make_config(load_config_file(f), {"frequency": 1000000})
    assert cfg.runner_options == {"probe": "0669FF", "pyocd_target": "stm32h743xx", "frequency": 1000000}
    assert runner_options(cfg.runner, cfg.runner_options) == {"probe": "0669FF", "target_type": "stm32h743xx",
                                                              "frequency": 1000000}
    f.write_text('baud = "fast"\n')
    with pytest.raises(EdgefactError, match="'baud' must be int"):
        make_config(load_config_file(f), {})
    from edgefact.targets.runners.options import public_options

    for command in (["build"], ["bench"]):
        out = CliRunner().invoke(cli, [*command, "--help"]).output
        for opt, _runners in public_options().values():
            assert opt.cli_flag in out, (command, opt.cli_flag)


def _modules_importing(prefix: str) -> set[str]:
    out = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == prefix or n.startswith(prefix + ".") for n in names):
                out.add(str(path.relative_to(ROOT.parent)))
    return out


def test_one_elf_reader_and_one_qemu_command_line() -> None:
    assert _modules_importing("elftools") == {"edgefact/firmware/elf.py"}
    builders = {str(p.relative_to(ROOT.parent)) for p in ROOT.rglob("*.py")
                if any(isinstance(n, ast.Constant) and n.value in ("-icount", "-semihosting-config")
                       for n in ast.walk(ast.parse(p.read_text())))}
    assert builders == {"edgefact/targets/runners/qemu.py"}


@pytest.mark.parametrize("kind", sorted(cls.name for cls in BUILTIN_RUNNERS))
@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0.0, -1.0])
def test_every_runner_refuses_a_timeout_that_cannot_fire(kind: str, timeout: float, tmp_path: Path) -> None:
    """API callers bypass the CLI's range check: a NaN deadline never passes, so a hung board
    would block forever. Every runner refuses it before it opens a port, a probe or a process."""
    artifact = tmp_path / "fw.elf"
    artifact.write_bytes(b"\x7fELF")
    options = {"port": str(tmp_path / "no-such-tty")} if kind == "serial" else {}
    runner = get_runner(kind, **options)
    with pytest.raises(EdgefactError, match="--timeout must be a finite number of seconds > 0"):
        runner.run(artifact, get_target("host" if kind == "host" else "cortex-m4"), timeout_s=timeout)
