"""The builder's modules import each other without a cycle (any import, even inside a
function: a cycle there is still two modules that cannot be understood apart)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "talkbuild"


def imports() -> dict[str, set[str]]:
    """talkbuild module -> the talkbuild modules it imports."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                found |= {f"{module}.{a.name}" for a in node.names} | {module}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_import_cycle_among_the_builders_modules():
    graph, cycles = imports(), []

    def visit(module: str, path: list[str]) -> None:
        for imported in graph[module]:
            if imported in path:
                cycles.append(path[path.index(imported) :] + [imported])
            else:
                visit(imported, path + [imported])

    for module in graph:
        visit(module, [module])
    assert cycles == []


def test_the_figure_pipeline_stays_small():
    """Issue 12's budget: everything it takes to regenerate figures, in talkbuild/figures/."""
    lines = sum(len(p.read_text().splitlines()) for p in (PACKAGE / "figures").glob("*.py"))
    assert lines <= 600
