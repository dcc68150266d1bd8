"""Host kernel library of the bit-exactness checks: rebuilt when any header it includes changes.

Runs on a private copy of the kernel tree: other processes compile the real one concurrently.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgefact.export.hostcheck import KernelTree, kernel_library
from edgefact.firmware.objcache import ObjectCache, compiler_id

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("ar") is None,
                               reason="needs gcc and ar (sudo apt-get install gcc binutils)")

MARKER = "ef-stale-header-check-v2"


@pytest.fixture
def tree(tmp_path: Path) -> KernelTree:
    return KernelTree.installed().copy_to(tmp_path / "kernels")


def _mark(header: Path) -> str:
    """Add a symbol every translation unit including ``header`` emits (inside its include guard)."""
    text = header.read_text()
    head, sep, tail = text.rpartition("#endif")
    assert sep, f"{header} has no include guard"
    header.write_text(f'{head}__attribute__((used)) static const char ef_stale_check[] = "{MARKER}";\n'
                      f"{sep}{tail}")
    return text


def test_copy_is_a_complete_private_tree(tree: KernelTree) -> None:
    real = KernelTree.installed()
    assert [s.name for s in tree.sources] == [s.name for s in real.sources]
    assert all(s.is_file() and not s.is_relative_to(real.include_dir.parent) for s in tree.sources)
    assert (tree.include_dir / "internal" / "ef_nn_internal.h").is_file()


def _build(tree: KernelTree, tmp_path: Path) -> tuple[Path, ObjectCache]:
    """One library build, as a process would do it: a fresh cache object over the same store."""
    cache = ObjectCache(tmp_path / "obj", compiler_id("gcc"))
    return kernel_library(tree=tree, cache=cache, cache_dir=tmp_path / "lib"), cache


@needs_gcc
def test_private_header_edit_rebuilds_the_library(tree: KernelTree, tmp_path: Path) -> None:
    names = {s.name for s in tree.sources}
    lib1, first = _build(tree, tmp_path)
    assert set(first.compiled) == names and not first.hits
    again, second = _build(tree, tmp_path)
    assert again == lib1 and not second.compiled and set(second.hits) == names  # unchanged: all cached

    private = tree.include_dir / "internal" / "ef_nn_internal.h"
    original = _mark(private)
    lib2, third = _build(tree, tmp_path)
    assert lib2 != lib1
    assert MARKER.encode() in lib2.read_bytes() and MARKER.encode() not in lib1.read_bytes()
    # the sources that include the private header (directly or not) were recompiled, the rest reused
    assert "ef_conv_s8.c" in third.compiled
    assert set(third.compiled) | set(third.hits) == names and not set(third.compiled) & set(third.hits)

    private.write_text(original)  # back to the first content: the first library again, from the cache
    back, fourth = _build(tree, tmp_path)
    assert back == lib1 and not fourth.compiled


@needs_gcc
def test_public_header_edit_rebuilds_the_library(tree: KernelTree, tmp_path: Path) -> None:
    lib1, _ = _build(tree, tmp_path)
    _mark(tree.include_dir / "ef_nn.h")
    lib2, cache = _build(tree, tmp_path)
    assert lib2 != lib1 and MARKER.encode() in lib2.read_bytes() and cache.compiled
