"""File-system faults end in one line naming the path and the problem (issue 13, item 5).

A read-only ``--out`` (a read-only tmpfs, as root chmod does not stop writes), a file given as
``--out``, ``--out FILE/sub`` and a full disk (a 64 KiB tmpfs) for ``convert``, ``build`` and the
reports; multi-file outputs arrive together or not at all, and convert's board fit check runs
before anything is written. The mounts need root (or CAP_SYS_ADMIN): without, those cases skip
with the reason.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from opmodels import get_opmodel
from report_samples import sample_report

from edgefact.cli import cli
from edgefact.errors import EdgefactError, ModelTooLargeError
from edgefact.fsutil import check_output_dir, ensure_dir, write_files_atomically

C_FILES = ("model.c", "model.h", "model_data.c", "model_data.h", "plan.txt")


def _edgefact(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from edgefact.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def _one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr[-3000:])
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    # ours ("error: ...") or click's usage error ("Error: ...", for a --out that click checks itself)
    lines = [line for line in res.stderr.splitlines() if line.lower().startswith("error:")]
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    p = tmp_path / "m.tflite"
    p.write_bytes(get_opmodel("conv_3x3_s1_valid"))
    return p


def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {res.stderr.strip()}")


@pytest.fixture()
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "ro"
    _mount_tmpfs(where, "ro,size=64k")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def _fill(path: Path) -> None:
    """Write zeros into ``path`` until the file system is full."""
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@pytest.fixture()
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, full but for two pages (8 KiB)."""
    where = tmp_path / "full"
    _mount_tmpfs(where, "size=64k")
    try:
        _fill(where / "filler")
        os.truncate(where / "filler", max(0, (where / "filler").stat().st_size - 8192))
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


# -- convert ---------------------------------------------------------------------------------

def test_convert_into_a_file(model: Path, tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    _one_line_error(_edgefact("convert", str(model), "--no-tflm", "-o", str(f), cwd=tmp_path), str(f), "is a file")
    _one_line_error(_edgefact("convert", str(model), "--no-tflm", "-o", str(f / "sub"), cwd=tmp_path),
                    str(f / "sub"), f"{f} is a file")
    assert f.read_text() == "x"


def test_convert_into_a_read_only_folder(model: Path, read_only_dir: Path, tmp_path: Path) -> None:
    out = read_only_dir / "gen"
    _one_line_error(_edgefact("convert", str(model), "--no-tflm", "-o", str(out), cwd=tmp_path), str(out),
                    "read-only")


def test_convert_on_a_full_disk_writes_no_file(model: Path, full_disk: Path, tmp_path: Path) -> None:
    out = full_disk / "gen"
    _one_line_error(_edgefact("convert", str(model), "--no-tflm", "-o", str(out), cwd=tmp_path),
                    "no space left on the device")
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == [], left  # no model.c without model_data.c, no temporary folder


def test_convert_fit_check_runs_before_anything_is_written(model: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import edgefact.pipeline.deploy as deploy

    monkeypatch.setattr(deploy, "estimate_footprint", lambda gen, n: (1 << 40, 1 << 40))
    out = tmp_path / "gen"
    res = CliRunner(mix_stderr=False).invoke(cli, ["convert", str(model), "--no-tflm", "-t", "nrf52840dk",
                                                   "-o", str(out)])
    assert isinstance(res.exception, ModelTooLargeError), res.exception
    assert not out.exists() or not any(out.iterdir())


def test_convert_writes_the_five_files(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    res = CliRunner(mix_stderr=False).invoke(cli, ["convert", str(model), "--no-tflm", "-q", "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(C_FILES)


# -- build -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["file", "under-file", "read-only"])
def test_build_refuses_a_bad_out_before_any_stage(case: str, model: Path, tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    if case == "file":
        out, needle = f, "is a file"
    elif case == "under-file":
        out, needle = f / "sub", f"{f} is a file"
    else:
        out, needle = request.getfixturevalue("read_only_dir") / "b", "read-only"
    res = CliRunner(mix_stderr=False).invoke(cli, ["build", "--tflite", str(model), "-t", "host",
                                                   "--eval-samples", "0", "-o", str(out)])
    assert isinstance(res.exception, EdgefactError), res.exception
    msg = str(res.exception)
    assert str(out) in msg and needle in msg and "\n" not in msg
    assert "[1/" not in res.stderr  # no stage started
    assert f.read_text() == "x"


# -- reports and the helpers ----------------------------------------------------------------

def test_reports_on_a_full_disk_leave_the_old_ones(full_disk: Path) -> None:
    from edgefact.report.render import write_reports

    (full_disk / "filler").unlink()
    out = full_disk / "r"
    out.mkdir()
    old = {name: f"old {name}" for name in ("report.json", "report.md", "report.html")}
    for name, text in old.items():
        (out / name).write_text(text)
    _fill(full_disk / "filler")
    report = sample_report()
    report["notes"] = ["x" * 200_000]  # larger than the free space
    with pytest.raises(OSError) as info:
        write_reports(report, out)
    assert info.value.errno == errno.ENOSPC
    assert {p.name: p.read_text() for p in out.iterdir()} == old  # all old, none new, no temporary folder


def test_full_disk_is_one_line_at_the_cli(full_disk: Path, tmp_path: Path) -> None:
    """`edgefact init` into a full disk: the CLI's safety net for any OSError of the file system."""
    _fill(full_disk / "filler2")
    target = full_disk / "edgefact.toml"
    _one_line_error(_edgefact("init", str(target), cwd=tmp_path), "no space left on the device")
    assert not target.exists()


def test_write_files_atomically_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "o"
    write_files_atomically(out, {"a.txt": "1", "b.txt": b"2"})
    assert (out / "a.txt").read_text() == "1" and (out / "b.txt").read_text() == "2"
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        write_files_atomically(out, {"a.txt": "new", "b.txt": "new"})
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert (out / "a.txt").read_text() == "1"  # the first new file was not moved in alone


def test_output_dir_checks_name_the_path(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(EdgefactError, match="is a file"):
        check_output_dir(f)
    with pytest.raises(EdgefactError, match=f"{f} is a file"):
        ensure_dir(f / "a" / "b")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
