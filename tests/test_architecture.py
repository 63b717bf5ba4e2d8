"""The package's architecture, measured from its import graph (issue 15).

Every module of ``cmteb_eval`` is parsed with ``ast``; every import counts, at module level or
inside a function, relative ones resolved (``from . import x`` is the submodule ``x`` when there is
one, else the package's ``__init__``). On that graph: no cycles; no import from a lower layer to a
higher one (the order below); at most 9 import layers (the longest path, counted in modules); at
most 6 modules at the package's top level and 12 in any folder; no module over 400 lines; no module
uses a private (``_name``) name of a module in another folder; every subpackage's ``__init__`` says
what its layer owns, and docs/architecture.md names every subpackage and the one place to add a
model kind, a task type, a metric and an output format (issue 22). ``python tests/test_architecture.py``
prints the numbers.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cmteb_eval"

# Lowest first: a module may import from its own layer and the layers before it, never after.
LAYERS = (
    ("base", ("cmteb_eval", "cmteb_eval.errors", "cmteb_eval.files", "cmteb_eval.version")),
    ("tasks", ("cmteb_eval.tasks",)),
    ("data", ("cmteb_eval.data",)),
    ("models", ("cmteb_eval.models",)),
    ("evaluators", ("cmteb_eval.evaluators",)),
    ("results", ("cmteb_eval.results",)),
    ("run", ("cmteb_eval.run",)),
    ("report", ("cmteb_eval.report",)),
    ("cli", ("cmteb_eval.cli",)),
    ("entry points", ("cmteb_eval.__main__", "cmteb_eval.api")),  # api: the Python API (issue 12), when it comes
)
MAX_LAYERS = 9
MAX_TOP_LEVEL = 6
MAX_FOLDER_MODULES = 12
MAX_LINES = 400
DOC = PACKAGE.parent / "docs" / "architecture.md"
WHERE_TO_ADD = ("A model kind", "A task type", "A metric", "An output format")


@lru_cache(maxsize=1)
def modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package's __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _imported(node: ast.AST, package: str, known: dict) -> set[str]:
    """The package's modules an import node names."""
    if isinstance(node, ast.Import):
        found = set()
        for alias in node.names:
            name = alias.name
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
        return found
    if node.level:
        base = package.split(".")
        base = base[:len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != "cmteb_eval":
        return set()
    return {f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names}


@lru_cache(maxsize=1)
def graph() -> dict[str, frozenset[str]]:
    """Module -> the package's modules it imports (anywhere in its file)."""
    known = modules()
    out = {}
    for name, (path, is_package) in known.items():
        package = name if is_package else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets |= _imported(node, package, known)
        out[name] = frozenset(targets - {name})
    return out


def layer_of(module: str) -> int:
    for index, (_, members) in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in members if m != "cmteb_eval") or module in members:
            return index
    raise AssertionError(f"{module} is in no layer: add its folder to LAYERS")


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    g, index, low, on_stack, stack, found = graph(), {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
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
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in g:
        if v not in index:
            visit(v)
    return found


def longest_path() -> list[str]:
    """The longest import chain, as modules (a module importing nothing of the package is one layer)."""
    g, depth = graph(), {}

    def d(m):
        if m not in depth:
            depth[m] = 1 + max((d(t) for t in g[m]), default=0)
        return depth[m]

    start = max(g, key=d)
    path = [start]
    while g[path[-1]]:
        path.append(max(g[path[-1]], key=d))
    return path


def top_level() -> list[str]:
    return sorted(p.name for p in PACKAGE.glob("*.py"))


def folder_sizes() -> dict[str, int]:
    """Folder of the package (relative, "." for the top) -> its modules, ``__init__.py`` not counted."""
    sizes = {}
    for path, _ in modules().values():
        folder = str(path.parent.relative_to(PACKAGE))
        sizes[folder] = sizes.get(folder, 0) + (path.name != "__init__.py")
    return sizes


def private_uses() -> list[str]:
    """Uses of a ``_name`` (not a dunder) of a module of another folder, in the whole package."""
    return sorted({use for name, (path, _) in modules().items()
                   for use in private_uses_in(name, path.read_text(encoding="utf-8"))})


def private_uses_in(name: str, source: str) -> list[str]:
    """In module ``name`` (its text ``source``): the private names of other folders' modules it uses,
    imported by name (``from ..x.y import _name``) or read off an imported module (``y._name``)."""
    known, found = modules(), []
    package = name if known[name][1] else name.rpartition(".")[0]
    tree = ast.parse(source)
    aliases = {}  # local name -> the package's module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                for target in _imported(ast.ImportFrom(module=node.module, names=[alias], level=node.level),
                                        package, known):
                    if target.endswith("." + alias.name):  # a module imported by name
                        aliases[alias.asname or alias.name] = target
                    elif _private(alias.name) and _folder(target) != _folder(name):
                        found.append(f"{name} imports {alias.name} from {target}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in known:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and _private(node.attr) and _folder(aliases[node.value.id]) != _folder(name):
            found.append(f"{name} uses {aliases[node.value.id]}.{node.attr}")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _folder(module: str) -> Path:
    return modules()[module][0].parent


def line_counts() -> dict[str, int]:
    return {name: len(path.read_text(encoding="utf-8").splitlines()) for name, (path, _) in modules().items()}


# ---------------------------------------------------------------- the tests


def test_no_import_cycles():
    assert cycles() == []


def test_imports_run_one_way_from_lower_layers_to_higher_ones():
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
              for m, targets in graph().items() for t in targets if layer_of(t) > layer_of(m)]
    assert upward == []


def test_report_depends_on_results_tasks_and_metrics_never_on_models_or_evaluators():
    g = graph()
    reached, todo = set(), [m for m in g if m.startswith("cmteb_eval.report")]
    while todo:
        module = todo.pop()
        for target in g[module] - reached:
            reached.add(target)
            todo.append(target)
    forbidden = sorted(m for m in reached if m.startswith("cmteb_eval.models")
                       or (m.startswith("cmteb_eval.evaluators.") and m != "cmteb_eval.evaluators.metrics"))
    assert forbidden == [], "report/ reaches models or evaluators (directly or through what it imports)"


def test_at_most_nine_import_layers():
    path = longest_path()
    assert len(path) <= MAX_LAYERS, " -> ".join(path)


def test_at_most_a_handful_of_modules_at_the_top_level():
    assert len(top_level()) <= MAX_TOP_LEVEL, top_level()


def test_no_folder_over_12_modules():
    """A folder that grows past 12 modules gets rooms (sub-packages by concern), as models/ and report/ have."""
    crowded = {folder: n for folder, n in folder_sizes().items() if n > MAX_FOLDER_MODULES}
    assert crowded == {}


def test_no_module_uses_the_private_names_of_another_folder():
    """A ``_name`` is private to its folder: another room imports what the module makes public."""
    assert private_uses() == []


def test_private_names_are_found():
    """The check above sees both forms, and leaves a folder's own private names to it."""
    source = ("from ..identity.loading import _x\nfrom ..identity import loading\nloading._y\n"
              "from .pooling import _z\nfrom . import pooling\npooling._w\n")
    assert private_uses_in("cmteb_eval.models.encoders.embedder", source) == [
        "cmteb_eval.models.encoders.embedder imports _x from cmteb_eval.models.identity.loading",
        "cmteb_eval.models.encoders.embedder uses cmteb_eval.models.identity.loading._y"]


def test_the_architecture_doc_names_every_room_and_where_to_add_things():
    """docs/architecture.md: every subpackage by its path (``models/identity/``), each existing path it
    names in backticks, and one bullet for each of a model kind, a task type, a metric, an output format."""
    text = DOC.read_text(encoding="utf-8")
    rooms = sorted(str(path.parent.relative_to(PACKAGE)) + "/" for name, (path, is_package) in modules().items()
                   if is_package and name != "cmteb_eval")
    assert [room for room in rooms if room not in text] == []
    named = re.findall(r"`(cmteb_eval/[\w/.]+)`", text)
    assert named and [p for p in named if not (PACKAGE.parent / p).exists()] == []
    where = text[text.index("## Where to add"):]
    bullets = ["- **" + b for b in where.split("\n- **")[1:]]  # each bullet with its continuation lines
    for thing in WHERE_TO_ADD:
        [bullet] = [b for b in bullets if b.startswith(f"- **{thing}")]
        assert "`cmteb_eval/" in bullet, bullet


def test_no_module_over_400_lines():
    long = {name: n for name, n in line_counts().items() if n > MAX_LINES}
    assert long == {}


def test_every_layer_says_what_it_owns():
    """Each subpackage's __init__ has a docstring naming every module of the folder."""
    for name, (path, is_package) in modules().items():
        if not is_package or name == "cmteb_eval":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        members = sorted(p.stem for p in path.parent.glob("*.py") if p.stem != "__init__")
        missing = [m for m in members if f"``{m}``" not in doc and f"``{m}.py``" not in doc]
        assert doc and not missing, f"{name}: the docstring names no {missing}" if doc else f"{name}: no docstring"


def test_every_task_type_names_an_evaluator_module_and_item_format_that_exist():
    """The type table's evaluators are imported by name at run time (evaluators/base.py), an edge the
    graph above cannot see: each must be an evaluators/ module with an ``evaluate`` function."""
    from cmteb_eval.tasks.items import FORMATS
    from cmteb_eval.tasks.types import TYPES

    for row in TYPES.values():
        assert row.evaluator.startswith("cmteb_eval.evaluators."), row.name
        assert callable(getattr(importlib.import_module(row.evaluator), "evaluate", None)), row.name
        assert row.items in FORMATS and row.takes in ("embedder", "pair") and \
            row.layout in ("rows", "retrieval", "reranking"), row.name


def measured() -> dict:
    counts = line_counts()
    largest = max(counts, key=counts.get)
    sizes = folder_sizes()
    fullest = max(sizes, key=sizes.get)
    return {"modules": len(modules()), "cycles": len(cycles()), "layers": len(longest_path()),
            "longest path": " -> ".join(longest_path()), "top-level modules": top_level(),
            "largest module": f"{largest} ({counts[largest]} lines)",
            "fullest folder": f"{fullest} ({sizes[fullest]} modules)", "private names used across folders":
            len(private_uses())}


if __name__ == "__main__":
    for key, value in measured().items():
        print(f"{key}: {value}")
