"""The package's import graph keeps its layers (docs/architecture.md, issue 16).

Every ``import`` in ``edge_app/`` is read from the source (function-level imports too, as
they run as surely as the others), resolved to the module it loads, and checked:

* no import cycle between modules;
* a room imports only rooms on its own floor or below (the engine knows nothing of the
  store, the store nothing of the pages, head office nothing of the site app's pages, and
  only the command line knows the command line);
* Flask only in the page packages; the engine, the store, the worker and sync never load it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "edge_app"

#: Each top-level room of edge_app/ and its floor: a room may import its own floor and below.
FLOORS = {
    "display": 0, "fileio": 0, "versions": 0, "access": 0, "app_settings": 0,
    "engine": 1,
    "store": 2,
    "worker": 3, "watch": 3, "sync": 3, "ledger": 3,
    "pages": 4, "web": 5, "hq": 5,
    "cli": 6,
}
#: Rooms on one floor that must not know each other.
APART = {("hq", "web"), ("web", "hq")}
FLASK_ROOMS = {"pages", "web", "hq"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """({module: edge_app modules it imports}, {module: third-party top-level names})."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    inner: dict[str, set[str]] = {}
    outer: dict[str, set[str]] = {}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        found, third = set(), set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for a in node.names:
                    (found if a.name.split(".")[0] == "edge_app" else third).add(
                        a.name if a.name.startswith("edge_app") else a.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                elif (node.module or "").split(".")[0] == "edge_app":
                    target = node.module
                else:
                    third.add((node.module or "").split(".")[0])
                    continue
                for a in node.names:  # `from . import spots` loads the module spots
                    found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in files else target)
        inner[mod] = {m for m in found if m in files and m != mod}
        outer[mod] = third
    return inner, outer


def room(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "edge_app"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_every_room_has_a_floor():
    rooms = {room(m) for m in import_graph()[0]} - {"edge_app"}
    assert rooms <= set(FLOORS), f"give these rooms a floor in FLOORS: {sorted(rooms - set(FLOORS))}"


def test_no_import_cycle():
    assert cycles(import_graph()[0]) == []


def test_no_import_runs_up_a_floor_or_across_to_a_neighbour():
    inner, _ = import_graph()
    wrong = []
    for mod, targets in inner.items():
        a = room(mod)
        for t in targets:
            b = room(t)
            if a == b or "edge_app" in (a, b):
                continue
            if FLOORS[b] > FLOORS[a] or (a, b) in APART or (FLOORS[a] == FLOORS[b] and FLOORS[a] > 0 and a != b
                                                          and (a, b) not in ALLOWED_ACROSS):
                wrong.append(f"{mod} -> {t}")
    assert wrong == []


#: Imports between two rooms of one floor that are the design (the worker stores what the
#: watcher hands it; nothing else on a floor above the engine knows a neighbour).
ALLOWED_ACROSS: set[tuple[str, str]] = set()


def test_flask_only_in_the_pages():
    _, outer = import_graph()
    users = {room(m) for m, names in outer.items() if "flask" in names}
    assert users <= FLASK_ROOMS and {"engine", "store", "worker", "sync"}.isdisjoint(users)


def test_the_checker_sees_a_cycle_and_a_lazy_import():
    """The walk counts an import inside a function, and a cycle through one."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    inner, _ = import_graph()
    assert "edge_app.engine.thorough" in inner["edge_app.engine.pipeline"]  # imported inside a method


def test_the_pages_store_and_ledger_load_no_vision_libraries():
    """The site app's pages, the store and the ledger export load neither SciPy nor OpenCV
    nor onnxruntime (48 MB and 0.9 s of a ledger export's peak once did, through a store
    module importing the engine's site rule at its top): only the worker's work needs them."""
    import subprocess
    import sys

    code = ("import sys, edge_app.store, edge_app.store.sites, edge_app.store.photos, edge_app.ledger, "
            "edge_app.ledger.pdf, edge_app.ledger.xlsx, edge_app.web, edge_app.hq\n"
            "print(sorted(m for m in ('scipy', 'cv2', 'onnxruntime', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout.strip()
    assert out == "[]"
