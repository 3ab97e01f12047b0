"""The package's layers, read from its source: no import cycles, imports point down.

Every ``import`` of every module is read with :mod:`ast`, including imports inside functions
(a lazy import is still a dependency). The rules are the ones ARCHITECTURE.md draws.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "retention_kit"

#: The top of the house: may import anything below, nothing below may import them.
TOP = ("retention_kit.reports", "retention_kit.cli", "retention_kit.course",
       "retention_kit.notebook")
#: Drawing only: the one place that imports matplotlib and seaborn.
PLOTS = "retention_kit.plots"
#: The bottom: import nothing of the package but each other (errors first).
BOTTOM = ("retention_kit.errors", "retention_kit._checks", "retention_kit.units")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports(path: Path) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import in the file."""
    name = module_name(path)
    base = name if is_package(path) else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                out.append((target, alias.name, node.lineno))
    return out


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(target: str, name: str, modules: dict[str, Path]) -> str | None:
    """The package module an import loads: ``from pkg import mod`` loads pkg.mod."""
    if f"{target}.{name}" in modules:
        return f"{target}.{name}"
    return target if target in modules else None


def graph() -> dict[str, set[str]]:
    modules = package_modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for target, name, _ in imports(path):
            dep = resolve(target, name, modules)
            if dep is not None and dep != mod:
                edges[mod].add(dep)
    return edges


def under(module: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_scan_sees_the_known_edges() -> None:
    edges = graph()
    assert "retention_kit.errors" in edges["retention_kit._checks"]
    assert "retention_kit.engines" in edges["retention_kit.data"]  # data dispatches down
    assert "retention_kit.models" in edges["retention_kit.scoring"]  # an in-function import
    assert len(edges) > 20


def test_no_import_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges[node]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_imports_point_down() -> None:
    problems = []
    for mod, deps in graph().items():
        for dep in sorted(deps):
            if dep == "retention_kit" and mod != "retention_kit":
                problems.append(f"{mod} imports the package root (use importlib.metadata or "
                                "the defining module)")
            elif under(dep, TOP) and not under(mod, TOP) and mod != "retention_kit":
                problems.append(f"{mod} imports {dep}, which sits above it")
            elif dep == PLOTS and not under(mod, TOP) and mod not in (PLOTS, "retention_kit"):
                problems.append(f"{mod} imports plots: the core computes, plots only draw")
            elif under(mod, BOTTOM) and not under(dep, BOTTOM):
                problems.append(f"{mod} is a bottom module but imports {dep}")
    assert not problems, "\n".join(problems)


def test_no_private_names_cross_modules() -> None:
    """``from x import _name`` ties a module to another's internals; take public names."""
    modules = package_modules()
    problems = [
        f"{module_name(path)}:{line} imports {name} from {target}"
        for path in modules.values()
        for target, name, line in imports(path)
        if name.startswith("_") and not name.startswith("__") and target.startswith("retention_kit")
        and resolve(target, name, modules) == target
    ]
    assert not problems, "\n".join(problems)


def test_only_plots_import_matplotlib_and_seaborn() -> None:
    problems = [f"{module_name(path)}:{line} imports {target}"
                for path in package_modules().values()
                for target, _, line in imports(path)
                if target.split(".")[0] in ("matplotlib", "seaborn")
                and module_name(path) != PLOTS]
    assert not problems, "\n".join(problems)


def test_importing_the_models_loads_no_report_code() -> None:
    code = ("import sys, retention_kit.models, retention_kit.clv\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('papermill', 'nbconvert', 'nbformat', 'matplotlib', 'seaborn', 'lifelines') "
            "or m.startswith('retention_kit.reports'))\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
