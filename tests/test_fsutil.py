import pytest

from edgefact.fsutil import atomic_output_dir, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path) -> None:
    p = tmp_path / "a" / "f.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [x.name for x in p.parent.iterdir()] == ["f.txt"]


def test_atomic_dir_leaves_nothing_on_error(tmp_path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_output_dir(out) as d:
        (d / "half").write_text("x")
        raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
