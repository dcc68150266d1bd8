"""What the command line prints, and where: live progress in a terminal, one line per stage elsewhere.

The rules (docs/build.md, "Output"):

* stdout carries only results: the paste-able summary line of a build (or its ``--json`` form),
  a table a command was asked for. Everything else goes to stderr.
* In a terminal (stderr is a TTY) long work shows one live line with a bar and its ETA (`rich`),
  and a build shows its whole-build bar above it. Without a terminal nothing is printed per step:
  a build prints one line per stage, with its duration.
* ``-q/--quiet`` keeps only warnings and errors on stderr; ``-v/--verbose`` adds the details
  (factorization and clustering tables, conversion summaries).

Code below the CLI reports through :func:`current` (set for a command by :func:`use_output`):
``current().bar(total, label)`` is a drop-in for ``click.progressbar`` (``.label``, ``.update``),
``current().stage_line(text)`` takes the ``[i/N] stage running|cached|done`` lines of the build.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

QUIET, NORMAL, VERBOSE = -1, 0, 1
_STAGE = re.compile(r"^\[(\d+)/(\d+)\]\s+(\S+)\s+(\S+)")
_WARN = re.compile(r"^(warning|note|error)\b", re.IGNORECASE)


class Bar:
    """A progress bar with click's interface (``label``, ``update``, context manager)."""

    def __init__(self, out: Output, total: int, label: str) -> None:
        self.out, self.total, self.label, self.done = out, max(1, int(total)), label, 0
        self._task: Any = None
        self.t0 = time.perf_counter()

    def __enter__(self) -> Bar:
        progress = self.out.live_progress()
        if progress is not None:
            self._task = progress.add_task(self.label, total=self.total)
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._task is not None:
            self.out.live_progress().update(self._task, advance=n, description=self.label)

    def __exit__(self, *exc: Any) -> None:
        if self._task is not None:
            self.out.live_progress().remove_task(self._task)
            self._task = None


class Output:
    """The output policy of one command (see the module docstring)."""

    def __init__(self, level: int = NORMAL, *, json_mode: bool = False, stream: IO[str] | None = None,
                 live: bool | None = None, stdout: IO[str] | None = None) -> None:
        self.level = level
        self.json_mode = json_mode
        self.stream = stream if stream is not None else sys.stderr
        self.stdout = stdout if stdout is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.live = bool(isatty()) if live is None else live
        self.live = self.live and level > QUIET
        self._progress: Any = None
        self._build_task: Any = None
        self._stage_task: Any = None
        self.lines = 0  # lines written to ``stream`` (tests count them)
        #: stage name -> seconds it took last time (whole-build ETA), set by :meth:`expect`
        self.expected: dict[str, float] = {}
        self._plan: list[str] = []
        self._done: set[str] = set()

    # -- live display ---------------------------------------------------------------------
    def live_progress(self) -> Any:
        """The rich Progress of a terminal (started on first use), None without a terminal."""
        if not self.live:
            return None
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream, force_terminal=True)
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                                      TimeRemainingColumn(), console=console, transient=True)
            self._progress.start()
        return self._progress

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._build_task = self._stage_task = None

    # -- messages ---------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        progress = self._progress
        if progress is not None:
            progress.console.print(text, markup=False, highlight=False)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()
        self.lines += text.count("\n") + 1

    def info(self, text: str) -> None:
        """A status line (stderr), hidden by --quiet."""
        if self.level > QUIET:
            self._write(text)

    def detail(self, text: str) -> None:
        """A detail (stderr), shown with --verbose only."""
        if self.level >= VERBOSE:
            self._write(text)

    def warn(self, text: str) -> None:
        """A warning or note (stderr), shown even with --quiet."""
        self._write(text)

    def echo(self, text: str) -> None:
        """The build's messages: stage lines, warnings/notes, or details."""
        if _STAGE.match(text):
            self.stage_line(text)
        elif _WARN.match(text):
            self.warn(text)
        elif text.startswith("edgefact build:"):
            self.info(text)
        else:
            self.detail(text)

    def stage_line(self, text: str) -> None:
        """``[i/N] stage running|cached|done ...``: a live bar in a terminal, else one line per
        finished stage (the ``running`` line is not printed: its ``done`` line has the duration)."""
        m = _STAGE.match(text)
        if m is None:
            self.info(text)
            return
        index, total, name, state = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
        if state != "running":
            self._done.add(name)
        progress = self.live_progress()
        if progress is not None:
            if self._build_task is None:
                self._build_task = progress.add_task("build", total=total)
            progress.update(self._build_task, description=f"build {self.eta_text()}".rstrip())
            if state == "running":
                self._stage_task = progress.add_task(f"[{index}/{total}] {name}", total=None)
                return
            if self._stage_task is not None:
                progress.remove_task(self._stage_task)
                self._stage_task = None
            progress.update(self._build_task, completed=index)
        elif state == "running":
            return
        self.info(text)

    def expect(self, plan: list[str], seconds: dict[str, float]) -> None:
        """The stages a build will walk and how long each took last time (from its manifest)."""
        self._plan, self.expected, self._done = list(plan), dict(seconds), set()

    def eta_text(self) -> str:
        """About how long the rest of the build takes, from the last run's stage durations."""
        left = [n for n in self._plan if n not in self._done]
        if not left:
            return ""
        known = [self.expected[n] for n in left if n in self.expected]
        if len(known) < len(left):  # some stages never ran here: a lower bound, if anything
            return f"at least ~{sum(known):.0f} s left" if sum(known) >= 1 else ""
        return f"~{sum(known):.0f} s left (as last time)"

    def bar(self, total: int, label: str) -> Bar:
        return Bar(self, total, label)

    # -- results ----------------------------------------------------------------------------
    def result(self, text: str, data: Any = None) -> None:
        """A result on stdout: ``text``, or with --json the JSON of ``data``."""
        self.close()
        if self.json_mode and data is not None:
            self.stdout.write(json.dumps(data, default=str) + "\n")
        else:
            self.stdout.write(text + "\n")
        self.stdout.flush()


_CURRENT: contextvars.ContextVar[Output | None] = contextvars.ContextVar("edgefact_output", default=None)


def current() -> Output:
    """The output of the running command (a default one outside commands)."""
    out = _CURRENT.get()
    if out is None:
        out = Output()
        _CURRENT.set(out)
    return out


@contextlib.contextmanager
def use_output(out: Output) -> Iterator[Output]:
    """Make ``out`` the :func:`current` output for the duration of a command."""
    token = _CURRENT.set(out)
    try:
        yield out
    finally:
        out.close()
        _CURRENT.reset(token)


def progress_bar(total: int, label: str) -> Bar:
    """A bar on the current output (drop-in for ``click.progressbar(length=total, label=label)``)."""
    return current().bar(total, label)


__all__ = ["NORMAL", "QUIET", "VERBOSE", "Bar", "Output", "current", "progress_bar", "use_output"]
