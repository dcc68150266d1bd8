"""edgefact.hashing: one content-hashing helper, and the caches that key on it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

import edgefact.firmware.build as fwbuild
from edgefact.firmware.objcache import ObjectCache, compiler_id
from edgefact.hashing import digest, file_sha256, files_digest

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc (sudo apt-get install gcc)")


def test_digest_keeps_the_split_between_parts() -> None:
    assert digest(["ab", "c"]) != digest(["a", "bc"])
    assert digest(["x", b"y"]) == digest([b"x", "y"])  # str parts are their UTF-8 bytes
    assert digest([]) == hashlib.sha256().hexdigest()
    one = b"abc"
    assert digest([one]) == hashlib.sha256(len(one).to_bytes(8, "little") + one).hexdigest()


def test_file_sha256_reads_large_files_in_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # > one 1 MiB chunk
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    assert file_sha256(p) == hashlib.sha256(data).hexdigest()


def test_files_digest_names_files_relative_to_root(tmp_path: Path) -> None:
    for root in (tmp_path / "a", tmp_path / "b"):
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "x.h").write_text("#define X 1\n")
    a = files_digest([tmp_path / "a" / "sub" / "x.h"], root=tmp_path / "a")
    assert a == files_digest([tmp_path / "b" / "sub" / "x.h"], root=tmp_path / "b")
    (tmp_path / "b" / "sub" / "x.h").write_text("#define X 2\n")
    assert a != files_digest([tmp_path / "b" / "sub" / "x.h"], root=tmp_path / "b")


def test_firmware_build_keys_with_the_shared_helper() -> None:
    assert fwbuild.digest is digest


@needs_gcc
def test_object_cache_entry_is_the_shared_digest_of_its_inputs(tmp_path: Path) -> None:
    """The object cache files an object under digest(compiler, flags, source path and bytes)."""
    src = tmp_path / "unit.c"
    src.write_text("int unit_answer(void) { return 42; }\n")
    tool = compiler_id("gcc")
    flags = ["-std=c99", "-O2"]
    cache = ObjectCache(tmp_path / "cache", tool)

    def run(cmd: list[str], what: str) -> None:
        subprocess.run(cmd, check=True, capture_output=True)

    assert cache.compile("gcc", src, flags, [], tmp_path / "unit.o", run) is False
    key = digest([*tool, "\0flags", *flags, "\0src", str(src), src.read_bytes()])
    assert (tmp_path / "cache" / key[:2] / key).is_dir()
    assert cache.compile("gcc", src, flags, [], tmp_path / "again.o", run) is True
    assert (tmp_path / "again.o").read_bytes() == (tmp_path / "unit.o").read_bytes()
