"""akn_mail's imports form no circle and never run back up, also not through imports inside functions.

Read with ``ast`` from the source (nothing is imported), so an import hidden in a function
counts like one at the top of a module. Dependencies point one way: ``cli`` -> the
service that runs processes -> the processor -> the pipeline, handlers and services ->
db/config. A circle, or an import from a lower part back up into ``cli``, ``service`` or
the processor, fails here with the modules named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import akn_mail

PACKAGE = Path(akn_mail.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """Every akn_mail module NAME imports, wherever in the file the import stands."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in MODULES and target != name)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def find_cycle() -> list[str] | None:
    """One import circle as a list of module names (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(GRAPH):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def test_the_import_graph_is_read_from_every_module():
    assert "akn_mail.pipeline.processor" in GRAPH
    assert "akn_mail.pipeline.chain" in GRAPH["akn_mail.pipeline.processor"]


def test_no_import_circle():
    cycle = find_cycle()
    assert cycle is None, "import circle: " + " -> ".join(cycle)


# Who may import the parts at the top: the CLI, the process runner and the processor.
ALLOWED_IMPORTERS = {
    "akn_mail.cli": ("akn_mail.cli", "akn_mail.__main__"),
    "akn_mail.service": ("akn_mail.cli",),
    "akn_mail.pipeline.processor": ("akn_mail.service",),
    "akn_mail.pipeline.chain": ("akn_mail.pipeline.processor",),
}


def test_no_import_runs_back_up():
    wrong = []
    for name, targets in GRAPH.items():
        for target in targets:
            for top, allowed in ALLOWED_IMPORTERS.items():
                if (target == top or target.startswith(top + ".")) and not name.startswith(allowed) and not (
                        name == top or name.startswith(top + ".")):
                    wrong.append(f"{name} imports {target}")
    assert wrong == []
