"""The package layers import one way (docs/architecture.md, "Layers").

Every module of ``edgefact`` is parsed (not imported) and each of its imports, at module level or
inside a function, must go to its own layer or a lower one. Command-line modules (``cli.py``,
``*_cli.py``, ``edgefact.cli``, ``edgefact.doctor``) form the top layer. Imports only for type
checking (``if TYPE_CHECKING:``) are exempt: they do not run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "edgefact"

#: lowest first; a module belongs to the layer of its longest matching prefix
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("edgefact", "edgefact.errors", "edgefact.units", "edgefact.fsutil", "edgefact.hashing",
              "edgefact.stdio", "edgefact.procs")),
    ("targets", ("edgefact.targets",)),
    ("logproto", ("edgefact.report.logproto",)),
    ("firmware", ("edgefact.firmware",)),
    ("runners", ("edgefact.targets.runners",)),
    ("models", ("edgefact.models",)),
    ("export", ("edgefact.export",)),
    ("report", ("edgefact.report",)),
    ("pipeline", ("edgefact.pipeline",)),
    ("cli", ()),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}


def layer_of(module: str) -> str:
    last = module.rsplit(".", 1)[-1]
    if module in ("edgefact.cli", "edgefact.doctor", "edgefact.__main__") or last == "cli" or last.endswith("_cli"):
        return "cli"
    best, best_len = "base", -1
    for name, prefixes in LAYERS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = name, len(p)
    return best


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(tree: ast.AST, module: str, is_pkg: bool) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for c in child.orelse:
                    visit(c)
                continue
            if isinstance(child, ast.Import):
                out.extend((child.lineno, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if is_pkg else module.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                out.append((child.lineno, target))
                for a in child.names:  # "from edgefact.report import logproto" names a submodule
                    out.append((child.lineno, f"{target}.{a.name}"))
            visit(child)

    visit(tree)
    return [(line, t) for line, t in out if t == "edgefact" or t.startswith("edgefact.")]


def _existing(module: str) -> bool:
    p = ROOT.parent / Path(*module.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def violations() -> list[str]:
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        mine = RANK[layer_of(module)]
        tree = ast.parse(path.read_text(), str(path))
        for line, target in _runtime_imports(tree, module, path.name == "__init__.py"):
            if not _existing(target):
                continue  # "from x import name" where name is not a module
            theirs = RANK[layer_of(target)]
            if theirs > mine:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line}: {module} ({layer_of(module)}) imports "
                           f"{target} ({layer_of(target)})")
    return bad


def test_layers_import_one_way() -> None:
    bad = violations()
    assert not bad, "upward imports:\n" + "\n".join(bad)


@pytest.mark.parametrize(("module", "layer"), [
    ("edgefact.errors", "base"), ("edgefact.targets", "targets"), ("edgefact.targets.runners.qemu", "runners"),
    ("edgefact.targets.cli", "cli"), ("edgefact.export.convert_cli", "cli"), ("edgefact.report.logproto", "logproto"),
    ("edgefact.report.render", "report"), ("edgefact.firmware.kernels", "firmware"),
])
def test_layer_map(module: str, layer: str) -> None:
    assert layer_of(module) == layer


def test_the_check_sees_an_upward_import(tmp_path) -> None:
    tree = ast.parse("import edgefact.pipeline.build\nfrom edgefact.export import codegen\n")
    targets = [t for _, t in _runtime_imports(tree, "edgefact.firmware.fake", False)]
    assert "edgefact.pipeline.build" in targets and "edgefact.export.codegen" in targets
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import edgefact.pipeline\n")
    assert _runtime_imports(tree, "edgefact.firmware.fake", False) == []
