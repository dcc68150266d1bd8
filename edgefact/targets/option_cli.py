"""Click options generated from the runners' one option schema (``edgefact.targets.runners.options``).

``edgefact bench``, ``edgefact flash`` and ``edgefact build`` take the same flags, named and typed
as the runners declare them; the values reach the command keyed by their config key, None when
not given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from edgefact.targets.runners.options import public_options

F = TypeVar("F", bound=Callable[..., Any])


def runner_click_options(only: tuple[str, ...] | None = None) -> Callable[[F], F]:
    """Decorator adding one click option per public runner option (of the runners in ``only``)."""

    def deco(func: F) -> F:
        for key, (opt, runners) in reversed(list(public_options().items())):
            if only is not None and not set(runners) & set(only):
                continue
            typ: Any = click.Choice(opt.choices) if opt.choices else opt.type
            default = f"  [default: {opt.default}]" if opt.default is not None else ""
            func = click.option(opt.cli_flag, key, type=typ, default=None,
                                help=f"{opt.help} (--runner {'/'.join(runners)}){default}")(func)
        return func

    return deco


def take_runner_values(values: dict[str, Any]) -> dict[str, Any]:
    """Remove and return the runner option values of a command's keyword arguments."""
    return {key: values.pop(key) for key in list(public_options()) if key in values}


__all__ = ["runner_click_options", "take_runner_values"]
