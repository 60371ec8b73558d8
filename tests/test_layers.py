"""The layers of the package: walks every import of tierslieux (top-level and inside
functions, ``if TYPE_CHECKING`` ones included) and fails on an upward import, on an import of
another stage's package that the table does not allow, on a cycle between packages, on an
import by name string, and on a module the layer table does not place.

Layer 0, the model: errors, config, workers, model/, ontology/, geography/.
Layer 1, stages and outputs: pipeline/, validation/, exports/, sparql/ (each imports the
model, and only the packages of its own layer that ALLOWED names).
Layer 2, orchestration: runner/.
Layer 3: cli (and ``python -m tierslieux``).

PENDING lists the imports that still break a rule until the rest of issue 15 lands; it may
only shrink.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import tierslieux

ROOT = Path(tierslieux.__file__).parent

#: package (or module) -> layer; the longest matching name counts
LAYERS: dict[str, int] = {
    "tierslieux": 0,  # the package's __init__ (its version)
    "tierslieux.errors": 0,
    "tierslieux.config": 0,
    "tierslieux.workers": 0,
    "tierslieux.model": 0,
    "tierslieux.ontology": 0,
    "tierslieux.geography": 0,
    "tierslieux.pipeline": 1,
    "tierslieux.validation": 1,
    "tierslieux.exports": 1,
    "tierslieux.sparql": 1,
    "tierslieux.site": 1,
    "tierslieux.runner": 2,
    "tierslieux.cli": 3,
    "tierslieux.__main__": 3,
}
#: imports between two packages of the same layer that the layout allows
ALLOWED: set[tuple[str, str]] = {
    ("tierslieux.exports", "tierslieux.validation"),
    ("tierslieux.exports", "tierslieux.site"),   # the release writes the site (issue 18)
    ("tierslieux.sparql", "tierslieux.site"),    # serve answers at the site's paths
}
#: (importing module, imported module) known to break the rules until the restructuring of
#: issue 15 lands them where the layout puts them; test_pending_is_still_true makes whoever
#: removes one also remove its line here, so the list only shrinks
PENDING: set[tuple[str, str]] = set()
#: files that still import a module named by a string (same rule as PENDING)
PENDING_NAME_STRINGS: set[str] = set()


def _unit(module: str) -> str:
    """The entry of LAYERS a module belongs to."""
    best = ""
    for name in LAYERS:
        inside = module == name or (name != "tierslieux" and module.startswith(name + "."))
        if inside and len(name) > len(best):
            best = name
    return best


def _module_name(path: Path) -> str:
    parts = ["tierslieux", *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(text: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) of every import of tierslieux in the source ``text`` of
    ``module``; relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text, module)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from tierslieux.pipeline import map" imports tierslieux.pipeline.map
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if (ROOT.parent / (candidate.replace(".", "/") + ".py")).is_file() or \
                        (ROOT.parent / candidate.replace(".", "/")).is_dir():
                    found.append((node.lineno, candidate))
                else:
                    found.append((node.lineno, base))
    return [(line, name) for line, name in dict.fromkeys(found)
            if name == "tierslieux" or name.startswith("tierslieux.")]


def _name_string_imports(text: str) -> list[int]:
    """Lines that import a module named by a string (importlib.import_module, __import__)."""
    lines = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                lines.append(node.lineno)
    return lines


SOURCES = sorted(ROOT.rglob("*.py"))
ALL_EDGES = [(path, line, _module_name(path), target)
             for path in SOURCES
             for line, target in _imports(path.read_text(encoding="utf-8"), _module_name(path),
                                          is_package=path.name == "__init__.py")]
EDGES = [edge for edge in ALL_EDGES if (edge[2], edge[3]) not in PENDING]


def test_the_walk_sees_the_package() -> None:
    """The walk is not vacuous: it finds the modules and the imports we know of."""
    names = {_module_name(path) for path in SOURCES}
    assert {"tierslieux.model.rdf", "tierslieux.model.iri", "tierslieux.pipeline.map",
            "tierslieux.cli"} <= names
    edges = {(source, target) for _, _, source, target in EDGES}
    assert ("tierslieux.pipeline.map", "tierslieux.model.rdf") in edges
    assert ("tierslieux.model.rdf", "tierslieux.model.iri") in edges
    assert len(EDGES) > 100


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_a_layer(path: Path) -> None:
    assert _unit(_module_name(path)), f"{_module_name(path)} is in no layer of LAYERS"


def test_no_upward_import() -> None:
    wrong = [f"{path.relative_to(ROOT.parent)}:{line}: {source} (layer {LAYERS[_unit(source)]})"
             f" imports {target} (layer {LAYERS[_unit(target)]})"
             for path, line, source, target in EDGES
             if _unit(target) and _unit(source)
             and LAYERS[_unit(target)] > LAYERS[_unit(source)]]
    assert not wrong, "\n".join(wrong)


def test_no_import_of_another_stage() -> None:
    """Packages of layer 1 import the model, not each other (except as ALLOWED says)."""
    wrong = [f"{path.relative_to(ROOT.parent)}:{line}: {source} imports {target}"
             for path, line, source, target in EDGES
             if _unit(source) != _unit(target)
             and LAYERS.get(_unit(source)) == LAYERS.get(_unit(target)) == 1
             and (_unit(source), _unit(target)) not in ALLOWED]
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for _, _, source, target in EDGES:
        if _unit(source) != _unit(target) and _unit(target):
            graph[_unit(source)].add(_unit(target))
    # depth-first search; a grey node met again closes a cycle
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [node, nxt] if nxt in stack
                              else [node, nxt])
            elif nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_no_import_by_name_string() -> None:
    wrong = [f"{path.relative_to(ROOT.parent)}:{line}"
             for path in SOURCES
             if path.relative_to(ROOT.parent).as_posix() not in PENDING_NAME_STRINGS
             for line in _name_string_imports(path.read_text(encoding="utf-8"))]
    assert not wrong, "imports by name string:\n" + "\n".join(wrong)


def test_pending_is_still_true() -> None:
    """Every exception of PENDING still exists: once fixed, its line goes too."""
    seen = {(source, target) for _, _, source, target in ALL_EDGES}
    assert not PENDING - seen, f"fixed, remove from PENDING: {sorted(PENDING - seen)}"
    named = {path.relative_to(ROOT.parent).as_posix() for path in SOURCES
             if _name_string_imports(path.read_text(encoding="utf-8"))}
    assert not PENDING_NAME_STRINGS - named, \
        f"fixed, remove from PENDING_NAME_STRINGS: {sorted(PENDING_NAME_STRINGS - named)}"


def test_the_walk_resolves_every_import_form() -> None:
    """What a bad import could look like is seen, and placed in its layer."""
    text = ("from ..pipeline import map\n"
            "from tierslieux.exports.ntriples import canonical_lines\n"
            "def later():\n    import tierslieux.cli\n"
            "import importlib\nimportlib.import_module('tierslieux.cli')\n")
    targets = [name for _, name in _imports(text, "tierslieux.model.probe")]
    assert targets == ["tierslieux.pipeline.map", "tierslieux.exports.ntriples", "tierslieux.cli"]
    assert [LAYERS[_unit(name)] for name in targets] == [1, 1, 3]
    assert _name_string_imports(text) == [6]
    assert _imports("from . import rdf\n", "tierslieux.model", is_package=True) == [
        (1, "tierslieux.model.rdf")]


def layout() -> list[tuple[str, str]]:
    """(module, the first line of its docstring) of every module: the layout of the package,
    as ``python tests/test_layers.py`` prints it."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found.append((str(path.relative_to(ROOT.parent)), doc.split("\n", 1)[0]))
    return found


def test_every_module_says_its_job_in_one_line() -> None:
    """Each module's docstring opens with one line that says what the module is for: its
    first paragraph is that line, a sentence of its own (ending with a full stop)."""
    for module, first in layout():
        path = ROOT.parent / module
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert first.strip(), f"{module}: no module docstring"
        assert doc.split("\n\n", 1)[0] == first, f"{module}: the first paragraph is not one line"
        assert first.endswith((".", ".)")) and len(first) <= 96, f"{module}: {first!r}"


if __name__ == "__main__":  # the layout, one line a module
    for module, first in layout():
        print(f"{module:42} {first}")
