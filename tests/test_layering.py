"""The house's layering: every import (lazy ones inside functions too) points down the list of rooms, and no two
modules import each other, directly or around a loop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tracklift

# Bottom first: a package may import only itself and the packages before it.
LAYERS = [
    "core",
    "vocab",
    "io",
    "data",  # types, label sets, file formats, frames
    "segment2d",
    "lift",
    "features",
    "eval",
    "trace",
    "track",  # the stages of the pipeline ...
    "superpoints",
    "segment3d",
    "classify",
    "splat",
    "synth",
    "outputs",  # ... what a run writes and reads back
    "view",
    "pipeline",
    "batch",  # the viewers, the pipeline and its CLIs, batches
    "cli",
    "demo",  # the command line on top
]
SRC = Path(tracklift.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, name: str | None = None) -> set[str]:
    """Every `tracklift` module that `path` (module `name`) imports, at the top or inside a function."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # `from tracklift.pkg import module` depends on that module; `from tracklift.pkg import name` on the
            # package's __init__
            folder = SRC.parent / base.replace(".", "/")
            for alias in node.names:
                is_module = (folder / f"{alias.name}.py").exists() or (folder / alias.name / "__init__.py").exists()
                found.add(f"{base}.{alias.name}" if is_module else base)
    return {m for m in found if m == "tracklift" or m.startswith("tracklift.")}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


GRAPH = {module_name(p): imported_modules(p) for p in sorted(SRC.rglob("*.py"))}


def test_every_module_is_in_a_room():
    assert sorted({room(m) for m in GRAPH} - set(LAYERS) - {None}) == []


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module):
    here = LAYERS.index(room(module)) if room(module) else len(LAYERS)
    upward = sorted(m for m in GRAPH[module] if room(m) and LAYERS.index(room(m)) > here)
    assert upward == [], f"{module} imports from a higher room"


def test_no_module_cycles():
    """Tarjan's strongly connected components over the module graph: every component must be one module."""
    modules = {m: {d for d in deps if d in GRAPH and d != m} for m, deps in GRAPH.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in modules[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(modules):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_checker_sees_an_upward_import(tmp_path):
    """The walker finds lazy imports inside functions and relative imports (what the other tests rely on)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from tracklift.track import tracker\n    from ..core import masks\n")
    found = imported_modules(probe, "tracklift.lift.probe")
    assert found == {"tracklift.track.tracker", "tracklift.core.masks"}
    assert [m for m in found if LAYERS.index(room(m)) > LAYERS.index("lift")] == ["tracklift.track.tracker"]
