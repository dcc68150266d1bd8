"""The one target-TOML validator (edgefact.targets.validate): cores, boards and a board's
[hardware] table are rejected with the file, the key and the fix named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edgefact.firmware.boards import BoardPortError, hardware_port
from edgefact.targets import TargetDataError, all_targets, get_target, parse_board, parse_core
from edgefact.targets.validate import Table
from edgefact.units import format_bytes

DATA = Path(__file__).resolve().parents[1] / "edgefact" / "targets" / "data"
M4 = (DATA / "cores" / "cortex-m4.toml").read_text()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace('arch = ', 'arch_ = '), r"x\.toml: missing key 'arch'; add `arch = \.\.\.`"),
    (lambda t: t.replace('uart_base = 0x40004000', 'uart_base = "0x40004000"'), r"'uart_base' must be int"),
    (lambda t: t.replace('cpu_flags = [', 'cpu_flags = [1, '), r"'cpu_flags' must be a list of strings"),
    (lambda t: t.replace('use = "code"', 'use = "rom"'), r"\[\[memory\]\] #\d: use 'rom' unknown; valid: code"),
    (lambda t: t.replace('use = "code"', 'use = "vectors"'), r"needs a \[\[memory\]\] region with use = \"code\""),
    (lambda t: t.replace("freq_hz", "freq"), r"x\.toml \[timer\]: missing key 'freq_hz'"),
])
def test_bad_core_file_names_the_key(edit, message) -> None:  # type: ignore[no-untyped-def]
    text = edit(M4)
    assert text != M4
    with pytest.raises(TargetDataError, match=message):
        parse_core(text, "x.toml")


def test_bad_memory_entry_names_its_index_and_key() -> None:
    start = M4.index("[[memory]]")
    entry = M4[start:].split("\n\n")[0]
    broken = M4.replace(entry, entry.replace("length", "size"), 1)
    with pytest.raises(TargetDataError, match=r"\[\[memory\]\] #0: missing key 'length'"):
        parse_core(broken, "x.toml")


def test_board_file_keys() -> None:
    cores = {n: t for n, t in all_targets().items() if t.kind != "board"}
    text = 'name = "b"\ndescription = "d"\ncore = "cortex-m4"\nclock_hz = 1\nflash_bytes = 1\nram_bytes = 1\n'
    with pytest.raises(TargetDataError, match="b.toml: missing key 'flash_bytes'"):
        parse_board(text.replace("flash_bytes = 1\n", ""), "b.toml", cores)
    with pytest.raises(TargetDataError, match="'vendor' must be str"):
        parse_board(text + "vendor = 3\n", "b.toml", cores)
    with pytest.raises(TargetDataError, match="'flash_bytes' must be positive"):
        parse_board(text.replace("flash_bytes = 1", "flash_bytes = -4"), "b.toml", cores)
    with pytest.raises(TargetDataError, match="b.toml: 'pyocd_needs_pack' must be bool"):
        parse_board(text + 'pyocd_needs_pack = "yes"\n', "b.toml", cores)
    assert parse_board(text + 'pyocd_target = "stm32f446retx"\n', "b.toml", cores).extra == {
        "pyocd_target": "stm32f446retx"}


def test_hardware_table_goes_through_the_same_validator() -> None:
    tgt = get_target("nucleo-h743zi")
    hw = dict(tgt.extra["hardware"])

    def port_with(**changes: object) -> None:
        bad = {**hw, **changes}
        hardware_port(dataclasses.replace(tgt, extra={**tgt.extra, "hardware": bad}))

    where = r"targets/data/boards/nucleo-h743zi\.toml \[hardware\]"
    with pytest.raises(BoardPortError, match=where + r": 'baud' must be int, got 'fast'"):
        port_with(baud="fast")
    with pytest.raises(BoardPortError, match=where + r": port 'esp32' unknown; valid: stm32"):
        port_with(port="esp32")
    mem = [dict(m) for m in hw["memory"]]
    mem[1]["origin"] = "0x24000000"
    with pytest.raises(BoardPortError, match=where + r" \[\[hardware\.memory\]\] #1: 'origin' must be int"):
        port_with(memory=mem)
    with pytest.raises(BoardPortError, match=r"\[\[hardware\.setbits\]\] #0: missing key 'bits'.*docs/boards\.md"):
        port_with(setbits=[{"reg": 0x58024000}])
    assert hardware_port(tgt).baud == hw["baud"]  # the board's own table is fine


def test_table_reports_in_the_callers_error_class() -> None:
    with pytest.raises(BoardPortError, match="here: must be a table"):
        Table([1, 2], "here", BoardPortError)
    t = Table({"n": True}, "here")
    with pytest.raises(TargetDataError, match="'n' must be int, got True"):
        t.req("n", int)


def test_one_bytes_formatter_uses_binary_prefixes() -> None:
    assert [format_bytes(n) for n in (None, 512, 320 * 1024, 4 << 20)] == ["–", "512 B", "320.0 KiB", "4.00 MiB"]
    assert format_bytes(None, "-") == "-"
