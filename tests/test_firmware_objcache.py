"""The firmware object cache: reuse across firmwares, misses on header/define/flag/shadowing changes.

Host builds (native gcc) keep these fast; each test gets its own cache via EDGEFACT_CACHE. One
Cortex-M7 build checks the cross build and the `.su` files on a cache hit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from edgefact.errors import EdgefactError
from edgefact.firmware.build import DEMO_SOURCES, build_firmware, build_info
from edgefact.firmware.objcache import parse_depfile
from edgefact.targets import get_target

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc (sudo apt-get install gcc)")
needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                               reason="needs arm-none-eabi-gcc (sudo apt-get install gcc-arm-none-eabi)")

APP = """
#include "app.h"
#include "ef_log.h"
int ef_app_setup(void) { return 0; }
int ef_app_run(void) { return 0; }
void ef_app_report(void) { ef_log_metric("answer", APP_VALUE); }
"""

KERNEL = """
#include "kern.h"
int kern_twice(int x) { return KERN_FACTOR * x; }
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "objcache"
    monkeypatch.setenv("EDGEFACT_CACHE", str(root))
    return root


def _app(d: Path, value: int) -> tuple[Path, Path]:
    src = d / "src"
    inc = d / "inc"
    src.mkdir(parents=True, exist_ok=True)
    inc.mkdir(parents=True, exist_ok=True)
    (src / "app.c").write_text(APP)
    (inc / "app.h").write_text(f"#define APP_VALUE {value}\n")
    return src / "app.c", inc


def _objects(elf: Path) -> dict[str, list[str]]:
    info = build_info(elf)
    assert info is not None
    return info["objects"]  # type: ignore[return-value]


def _metric(elf: Path) -> str:
    out = subprocess.run([str(elf)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


@needs_gcc
def test_second_build_compiles_nothing_and_runs(cache: Path, tmp_path: Path) -> None:
    src, inc = _app(tmp_path / "a", 41)
    e1 = build_firmware(get_target("host"), [src], [inc], tmp_path / "out1")
    o1 = _objects(e1)
    assert o1["cached"] == [] and "app.c" in o1["compiled"] and "ef_main.c" in o1["compiled"]
    assert any(cache.rglob("*.deps"))
    e2 = build_firmware(get_target("host"), [src], [inc], tmp_path / "out2")  # another firmware, same inputs
    o2 = _objects(e2)
    assert o2["compiled"] == [] and sorted(o2["cached"]) == sorted(o1["compiled"])
    assert build_info(e1)["build_id"] == build_info(e2)["build_id"]  # type: ignore[index]
    out = _metric(e2)
    assert '"answer"' in out and "41" in out and build_info(e2)["build_id"] in out  # type: ignore[index]
    assert sorted(p.name for p in (e2.parent / "obj").glob("*.su")) == \
        sorted(p.name for p in (e1.parent / "obj").glob("*.su"))


@needs_gcc
def test_header_change_recompiles_only_its_includers(cache: Path, tmp_path: Path) -> None:
    src, inc = _app(tmp_path / "a", 1)
    build_firmware(get_target("host"), [src], [inc], tmp_path / "out1")
    (inc / "app.h").write_text("#define APP_VALUE 2\n")
    e = build_firmware(get_target("host"), [src], [inc], tmp_path / "out2")
    # ef_main.c carries the build id, which changes with any input
    assert sorted(_objects(e)["compiled"]) == ["app.c", "ef_main.c"]
    assert '"value":2' in _metric(e).replace(" ", "")


@needs_gcc
def test_shadowing_header_earlier_in_path_misses(cache: Path, tmp_path: Path) -> None:
    src, inc = _app(tmp_path / "a", 1)
    build_firmware(get_target("host"), [src], [inc], tmp_path / "out1")
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "app.h").write_text("#define APP_VALUE 3\n")
    e = build_firmware(get_target("host"), [src], [shadow, inc], tmp_path / "out2")
    assert "app.c" in _objects(e)["compiled"]
    assert '"value":3' in _metric(e).replace(" ", "")


@needs_gcc
def test_shared_source_hits_across_include_dirs(cache: Path, tmp_path: Path) -> None:
    """A kernel file reused by two firmwares whose generated headers live in different directories."""
    kdir = tmp_path / "kern"
    (kdir / "include").mkdir(parents=True)
    (kdir / "kern.c").write_text(KERNEL)
    (kdir / "include" / "kern.h").write_text("#define KERN_FACTOR 2\nint kern_twice(int x);\n")
    src1, inc1 = _app(tmp_path / "m1", 1)
    src2, inc2 = _app(tmp_path / "m2", 2)
    build_firmware(get_target("host"), [src1, kdir / "kern.c"], [inc1, kdir / "include"], tmp_path / "out1")
    e = build_firmware(get_target("host"), [src2, kdir / "kern.c"], [inc2, kdir / "include"], tmp_path / "out2")
    o = _objects(e)
    assert "kern.c" in o["cached"] and "app.c" in o["compiled"]


@needs_gcc
@pytest.mark.parametrize("change", ["define", "flag"])
def test_define_or_flag_change_recompiles_everything(cache: Path, tmp_path: Path, change: str) -> None:
    src, inc = _app(tmp_path / "a", 1)
    e1 = build_firmware(get_target("host"), [src], [inc], tmp_path / "out1", defines={"EF_BENCH_RUNS": 2})
    n = len(_objects(e1)["compiled"])
    if change == "define":
        e2 = build_firmware(get_target("host"), [src], [inc], tmp_path / "out2", defines={"EF_BENCH_RUNS": 3})
    else:
        e2 = build_firmware(get_target("host"), [src], [inc], tmp_path / "out2", defines={"EF_BENCH_RUNS": 2}, opt="-O1")
    o = _objects(e2)
    assert o["cached"] == [] and len(o["compiled"]) == n


@needs_gcc
def test_warning_is_still_an_error_after_a_cache_hit(cache: Path, tmp_path: Path) -> None:
    src, inc = _app(tmp_path / "a", 1)
    build_firmware(get_target("host"), [src], [inc], tmp_path / "out1")
    src.write_text(APP + "static int unused_fn(void) { return 1; }\n")
    with pytest.raises(EdgefactError, match="compiling app.c"):
        build_firmware(get_target("host"), [src], [inc], tmp_path / "out2")


@needs_arm
def test_arm_hit_restores_stack_usage_files(cache: Path, tmp_path: Path) -> None:
    e1 = build_firmware(get_target("cortex-m7"), list(DEMO_SOURCES), [], tmp_path / "m7a")
    e2 = build_firmware(get_target("cortex-m7"), list(DEMO_SOURCES), [], tmp_path / "m7b")
    assert _objects(e2)["compiled"] == []
    su1 = {p.name: p.read_text() for p in (e1.parent / "obj").glob("*.su")}
    su2 = {p.name: p.read_text() for p in (e2.parent / "obj").glob("*.su")}
    assert su1 and su1 == su2
    assert e1.read_bytes() == e2.read_bytes()
    meta = json.loads((e2.parent / "build.json").read_text())
    assert meta["flash_bytes"] > 0


def test_parse_depfile_continuations_and_escaped_spaces() -> None:
    text = "out/a.o: /x/a.c /x/inc/a.h \\\n /x/my\\ dir/b.h\n"
    assert parse_depfile(text) == [Path("/x/a.c"), Path("/x/inc/a.h"), Path("/x/my dir/b.h")]
