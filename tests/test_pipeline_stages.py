import json

import pytest

from edgefact.pipeline.stages import MANIFEST, StageRunner


def _writer(text, calls):
    def fn(tmp):
        calls.append(text)
        (tmp / "out.txt").write_text(text)
        return {"len": len(text)}

    return fn


def test_stage_is_skipped_when_nothing_changed(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("data")
    calls, lines = [], []
    r1 = StageRunner(tmp_path / "b", echo=lines.append).run(
        "s", _writer("a", calls), inputs={"src": src}, options={"k": 1})
    r2 = StageRunner(tmp_path / "b", echo=lines.append).run(
        "s", _writer("a", calls), inputs={"src": src}, options={"k": 1})
    assert calls == ["a"]
    assert not r1.cached and r2.cached
    assert r2.info == {"len": 1}
    assert any("cached" in line for line in lines)
    manifest = json.loads((tmp_path / "b" / "s" / MANIFEST).read_text())
    assert manifest["options"] == {"k": 1}
    assert "out.txt" in manifest["outputs"]


@pytest.mark.parametrize("change", ["input", "option", "output-tampered"])
def test_stage_reruns_when_something_changed(tmp_path, change):
    src = tmp_path / "in.txt"
    src.write_text("data")
    calls = []
    StageRunner(tmp_path / "b", echo=lambda s: None).run(
        "s", _writer("a", calls), inputs={"src": src}, options={"k": 1})
    opts = {"k": 1}
    if change == "input":
        src.write_text("other")
    elif change == "option":
        opts = {"k": 2}
    else:
        (tmp_path / "b" / "s" / "out.txt").write_text("tampered")
    r = StageRunner(tmp_path / "b", echo=lambda s: None).run(
        "s", _writer("a", calls), inputs={"src": src}, options=opts)
    assert not r.cached and len(calls) == 2


def test_failed_stage_leaves_previous_artifact_intact(tmp_path):
    calls = []
    StageRunner(tmp_path / "b", echo=lambda s: None).run("s", _writer("good", calls), options={"v": 1})

    def failing(tmp):
        (tmp / "out.txt").write_text("half")
        raise RuntimeError("stage failed")

    with pytest.raises(RuntimeError):
        StageRunner(tmp_path / "b", echo=lambda s: None).run("s", failing, options={"v": 2})
    assert (tmp_path / "b" / "s" / "out.txt").read_text() == "good"
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["s"]
