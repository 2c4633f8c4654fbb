"""The shape of the package: no import circles, one reader of HR-only fields for mail.

Both are read from the source with ``ast``, so they hold for every import,
including the ones inside functions.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mailsup"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (they never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines |= {n.lineno for n in ast.walk(node)
                      if isinstance(n, ast.ImportFrom | ast.Import)}
    return lines


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (a ``from pkg import mod`` names ``pkg.mod``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
                targets.append(node.module)
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_package_has_no_import_cycle():
    cycles = find_cycles(import_graph())
    assert cycles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    # The control: the check would see a circle if there were one.
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Who may read HR-only fields at all: the model, their one writer, the operator's
# CLI view, and the one builder of HR mail and HR's pages (the pages call it only
# after the server's role check; tests/test_web_access.py shows that).
HR_FIELDS = re.compile(r"\.(hr_notes|flags|reviewed_by)\b")
MAY_READ_HR_FIELDS = {
    "mailsup/models.py", "mailsup/review.py", "mailsup/outbound/hr_context.py",
    "mailsup/cli/sups.py",
}


def test_only_hr_context_reads_hr_only_fields_for_mail():
    readers = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel.startswith("mailsup/testing/"):
            continue  # the doubles are not mailsup's mail
        if HR_FIELDS.search(path.read_text(encoding="utf-8")):
            readers.add(rel)
    assert readers <= MAY_READ_HR_FIELDS, sorted(readers - MAY_READ_HR_FIELDS)
    assert "mailsup/outbound/hr_context.py" in readers  # the control: the grep sees it


def test_the_package_root_stays_small():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 14, root
