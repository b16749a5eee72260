"""The library's layers, and the imports that cross them, read from the source (no
module is imported): every ``import`` and ``from ... import`` counts, at module level,
inside functions and under ``TYPE_CHECKING``, and so do the names a package root loads
on first use (its ``_EXPORTS``).

A module may import its own package and the packages of lower layers only; packages of
one layer do not import each other; no two modules need each other, directly or round
a longer cycle; and the Lambda handler imports nothing outside itself (it is deployed
on its own, as the provider's asset).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The layers, lowest first: a package may import the packages of the layers below its
#: own. ``""`` is the package root (``constructs_lib/__init__.py``, ``__main__.py``).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"handler"}),
    frozenset({"_shared"}),
    frozenset({"security"}),
    frozenset({"provider"}),
    frozenset({"definition"}),
    frozenset({"core"}),
    frozenset({"serving"}),
    frozenset({"schedule", "queueing"}),
    frozenset({"training", "processing", "transform"}),
    frozenset({"tuning"}),
    frozenset({"testing", "cli"}),
    frozenset({""}),
)


@dataclass(frozen=True)
class Import:
    """``importer`` imports ``imported`` (module names) at ``line``."""

    importer: str
    imported: str
    line: int


def module_name(package_dir: Path, path: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package_dir: Path) -> dict[str, Path]:
    return {
        module_name(package_dir, path): path
        for path in sorted(package_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The module ``name`` is, or the module that defines it (``pkg.mod.Name``)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def _relative(here: list[str], name: str) -> str:
    """``name`` (``"..pkg.mod"``, as ``importlib.import_module(name, package)`` takes
    it) from the package ``here``."""
    level = len(name) - len(name.lstrip("."))
    return ".".join([*here[: len(here) - (level - 1)], name[level:]])


def imports(package_dir: Path) -> Iterator[Import]:
    """Every import of one of the package's modules by another of them."""
    known = modules(package_dir)
    root = package_dir.name
    for importer, path in known.items():
        is_package = path.name == "__init__.py"
        here = importer.split(".") if is_package else importer.split(".")[:-1]
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)
                and isinstance(node.value, ast.Dict)
            ):
                targets = [
                    _relative(here, value.value)
                    for value in node.value.values
                    if isinstance(value, ast.Constant) and isinstance(value.value, str)
                ]
            for target in targets:
                if target.split(".")[0] != root:
                    continue
                imported = _resolve(target, known)
                if imported and imported != importer:
                    yield Import(importer, imported, getattr(node, "lineno", 0))


def package_of(module: str) -> str:
    """The capability (top-level package) a module belongs to; ``""`` for the root."""
    parts = module.split(".")[1:]
    return parts[0] if parts and parts[0] != "__main__" else ""


def _rank(package: str, layers: Sequence[frozenset[str]]) -> int:
    for rank, layer in enumerate(layers):
        if package in layer:
            return rank
    raise LookupError(f"package {package!r} is in no layer: add it to LAYERS")


def upward_imports(package_dir: Path, layers: Sequence[frozenset[str]] = LAYERS) -> list[str]:
    """Imports of a package of the same or a higher layer, and imports out of the
    handler, each as a line that names both modules and the rule."""
    found = []
    for edge in imports(package_dir):
        source, target = package_of(edge.importer), package_of(edge.imported)
        if source == target:
            continue
        if source == "handler":
            found.append(
                f"{edge.importer} (line {edge.line}) imports {edge.imported}: the handler is"
                " deployed on its own and imports nothing outside itself"
            )
            continue
        if _rank(target, layers) >= _rank(source, layers):
            found.append(
                f"{edge.importer} (line {edge.line}) imports {edge.imported}: "
                f"{source or 'the root'} may import only the layers below its own, and "
                f"{target} is not below it"
            )
    return found


def cycles(package_dir: Path) -> list[list[str]]:
    """The groups of modules that need each other (strongly connected, more than one)."""
    graph: dict[str, set[str]] = {name: set() for name in modules(package_dir)}
    for edge in imports(package_dir):
        graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups
