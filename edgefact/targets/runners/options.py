"""The one runner-option schema: CLI flags, config-file keys and the build's runner options.

Every public :class:`RunnerOption` of every registered runner has a distinct config key
(``port``, ``gdb_server``, ``pyocd_target``...). Values travel keyed by it, with None meaning
"not given"; :func:`runner_options` turns them into the constructor keywords of one runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.targets.runners.base import registered_runners, runner_class
from edgefact.targets.runners.capabilities import RunnerOption


def public_options() -> dict[str, tuple[RunnerOption, tuple[str, ...]]]:
    """config key -> (the option, the runners taking it), over every registered runner."""
    out: dict[str, tuple[RunnerOption, tuple[str, ...]]] = {}
    for kind, cls in registered_runners().items():
        for opt in cls.capabilities.options:
            if not opt.public:
                continue
            seen = out.get(opt.config_key)
            if seen is not None and (seen[0].type, seen[0].name) != (opt.type, opt.name):
                raise TypeError(f"runner option key '{opt.config_key}' means two things ({seen[1]} and {kind})")
            out[opt.config_key] = (seen[0] if seen else opt, (*(seen[1] if seen else ()), kind))
    return out


def option_keys() -> tuple[str, ...]:
    """The config-file / build keys of the runner options."""
    return tuple(public_options())


def check_value(key: str, value: Any) -> Any:
    """``value`` for runner option ``key`` with its declared type (int accepted for float);
    EdgefactError naming the key otherwise."""
    entry = public_options().get(key)
    if entry is None:
        raise EdgefactError(f"unknown runner option '{key}'; valid: {', '.join(option_keys())}")
    opt = entry[0]
    if value is None:
        return None
    if opt.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, opt.type) or (opt.type is int and isinstance(value, bool)):
        raise EdgefactError(f"runner option '{key}' must be {opt.type.__name__}, got {type(value).__name__} "
                            f"({value!r})")
    if opt.choices and value not in opt.choices:
        raise EdgefactError(f"runner option '{key}': '{value}' unknown; valid: {', '.join(opt.choices)}")
    return value


def split_runner_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(other values, runner option values checked against the schema) of a config mapping."""
    keys = set(option_keys())
    rest = {k: v for k, v in values.items() if k not in keys}
    opts = {k: check_value(k, v) for k, v in values.items() if k in keys and v is not None}
    return rest, opts


def runner_options(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor keywords of runner ``kind`` from config-keyed ``values`` (None = not given).

    Values of other runners' options are left out; a missing required option raises an error
    naming its flag.
    """
    out: dict[str, Any] = {}
    for opt in runner_class(kind).capabilities.options:
        if not opt.public:
            continue
        value = values.get(opt.config_key)
        if value is not None:
            out[opt.name] = check_value(opt.config_key, value)
        elif opt.required_example:
            raise EdgefactError(f"--runner {kind} needs {opt.cli_flag} ({opt.required_example})")
    return out


__all__ = ["check_value", "option_keys", "public_options", "runner_options", "split_runner_values"]
