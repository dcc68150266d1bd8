"""edgefact.firmware.fit: the flash/RAM budget check shared by the pre-build estimate and the build."""

from __future__ import annotations

import pytest

from edgefact.errors import ModelTooLargeError
from edgefact.firmware.fit import check_fits, fit_problems
from edgefact.targets import get_target


def test_estimate_names_both_figures_and_advises() -> None:
    board = get_target("nrf52840dk")  # 1 MiB flash, 256 KiB RAM
    with pytest.raises(ModelTooLargeError) as exc:
        check_fits(board, 2 << 20, 300_000, what="model m")
    msg = str(exc.value)
    assert msg.startswith("model m does not fit nrf52840dk: ")
    assert "flash needs at least 2097152 bytes but nrf52840dk has 1048576" in msg
    assert "RAM needs at least 300000 bytes but nrf52840dk has 262144" in msg
    assert "edgefact targets" in msg


def test_measured_figures_and_exact_budget() -> None:
    board = get_target("nrf52840dk")
    assert fit_problems(board, 1 << 20, 262144) == []  # exactly the budget fits
    assert fit_problems(board, 10, 262145, measured=True) == ["RAM 262145 B > 262144 B"]
    with pytest.raises(ModelTooLargeError, match=r"firmware does not fit nrf52840dk: RAM \d+ B > 262144 B"):
        check_fits(board, 10, 262145, what="firmware", measured=True)


def test_no_budget_always_fits() -> None:
    check_fits(get_target("host"), 1 << 40, 1 << 40)
