"""One vocabulary across all subcommands: walks every command's options (edgefact.common_cli)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from edgefact.cli import COMMANDS, cli
from edgefact.common_cli import OLD_SPELLINGS, VOCABULARY

#: commands that print a result and so take --quiet, --verbose and --json (issue 14)
OUTPUT_COMMANDS = ("build", "compare", "convert", "bench", "run")


def _command(name: str) -> click.Command:
    cmd = cli.get_command(click.Context(cli), name)
    assert cmd is not None and cmd.callback is not None, name
    assert cmd.callback.__name__ != "_unavailable", f"{name} does not import: {COMMANDS[name]}"
    return cmd


def _options(cmd: click.Command) -> list[click.Option]:
    return [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]


def _type_name(p: click.Option) -> str:
    """The value's kind: paths are text, ranges are their number type."""
    if p.is_flag:
        return "boolean"
    name = p.type.name.replace(" range", "")
    return "text" if name in ("file", "directory", "path", "filename") else name


def _primary(p: click.Option) -> str:
    return next(o for o in p.opts if o.startswith("--"))


@pytest.fixture(scope="module")
def commands() -> dict[str, click.Command]:
    return {name: _command(name) for name in COMMANDS}


def test_every_option_has_help_and_canonical_name(commands) -> None:
    problems = []
    for name, cmd in commands.items():
        for p in _options(cmd):
            flag = _primary(p)
            if not (p.help or "").strip():
                problems.append(f"{name} {flag}: no help text")
            if flag in OLD_SPELLINGS:
                problems.append(f"{name} {flag}: spell it {OLD_SPELLINGS[flag]} (the old name may stay as an alias)")
    assert not problems, "\n".join(problems)


def test_shared_options_have_one_type_and_short_flag(commands) -> None:
    problems = []
    shorts: dict[str, set[str]] = {}
    for name, cmd in commands.items():
        for p in _options(cmd):
            flag = _primary(p)
            own_shorts = {o for o in p.opts + p.secondary_opts if not o.startswith("--")}
            for s in own_shorts:
                shorts.setdefault(s, set()).add(flag)
            term = VOCABULARY.get(flag)
            if term is None:
                continue
            # a choice narrows a text term (e.g. the runners a command can use)
            if _type_name(p) != term.type and not (term.type == "text" and _type_name(p) == "choice"):
                problems.append(f"{name} {flag}: type {_type_name(p)}, elsewhere {term.type}")
            if term.short and term.short not in own_shorts:
                problems.append(f"{name} {flag}: missing its short flag {term.short}")
            if own_shorts - ({term.short} if term.short else set()):
                problems.append(f"{name} {flag}: extra short flag(s) {sorted(own_shorts)}")
    for s, flags in shorts.items():
        if len(flags) > 1:
            problems.append(f"short flag {s} means {sorted(flags)} in different commands")
    assert not problems, "\n".join(problems)


def test_vocabulary_terms_are_used_with_the_same_spelling() -> None:
    # an old spelling is never the canonical one, and each canonical term is a long flag
    assert not set(OLD_SPELLINGS) & set(VOCABULARY)
    assert all(flag.startswith("--") for flag in VOCABULARY)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_dash_h_and_an_example_in_every_help(name: str) -> None:
    res = CliRunner().invoke(cli, [name, "-h"])
    assert res.exit_code == 0, res.output
    assert "Usage: " in res.output and ("Examples:" in res.output or "Example:" in res.output), name
    assert "[default: None]" not in res.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_dash_h_after_the_command_ran_on_its_own(commands, name: str) -> None:
    """Every command declares -h itself: click keeps a command's help option from its first
    invocation, so one run outside the group (a script, a test) must not lose -h under it."""
    assert "-h" in commands[name].context_settings.get("help_option_names", []), name
    CliRunner().invoke(commands[name], ["--help"])
    res = CliRunner().invoke(cli, [name, "-h"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("name", OUTPUT_COMMANDS)
def test_output_flags_on_result_commands(commands, name: str) -> None:
    flags = {o for p in _options(commands[name]) for o in p.opts}
    assert {"-q", "--quiet", "-v", "--verbose", "--json"} <= flags


def test_quiet_and_verbose_contradict() -> None:
    res = CliRunner().invoke(cli, ["compare", "x", "-q", "-v"])
    assert res.exit_code != 0 and "contradict" in str(res.exception)


def test_top_level_help_accepts_dash_h() -> None:
    res = CliRunner().invoke(cli, ["-h"])
    assert res.exit_code == 0 and "Commands" in res.output
