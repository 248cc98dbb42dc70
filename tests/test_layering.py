"""The layers run one way: the library (components/, imported as maestro_components) never
imports the tool (maestro_deploy), and nothing imports the library by a bare `components`."""

import ast

import pytest
from conftest import ROOT, parse_python


def imports(path) -> set[str]:
    found = set()
    for node in ast.walk(parse_python(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


LIBRARY = sorted((ROOT / "components").rglob("*.py"))
# Not examples/: the customer program there has a local `components` package of its own, on purpose.
EVERYTHING = sorted(p for d in ("components", "maestro_deploy", "tests", "bench") for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_imports_nothing_of_the_tool(path):
    wrong = {m for m in imports(path) if m == "maestro_deploy" or m.startswith("maestro_deploy.")}
    assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}: the library must not depend on the tool"


def test_nothing_imports_the_library_by_a_bare_name():
    wrong = {str(p.relative_to(ROOT)) for p in EVERYTHING if any(m == "components" or m.startswith("components.") for m in imports(p))}
    assert not wrong, f"import maestro_components, not components: {wrong}"


def test_the_check_can_fail(tmp_path):
    """The scan sees a wrong import where one is written."""
    bad = tmp_path / "bad.py"
    bad.write_text("from maestro_deploy.config.settings import StackSettings\n")
    assert "maestro_deploy.config.settings" in imports(bad)


PACKAGES = sorted(p for d in ("components", "maestro_deploy") for p in (ROOT / d).rglob("__init__.py"))
MOST_CODE_LINES = 25


def what_is_not_a_re_export(path) -> list[str]:
    """Every statement of a package's `__init__.py` but its docstring, its imports and its
    `__all__`, and how many code lines it has beyond MOST_CODE_LINES: logic lives in modules."""
    tree = parse_python(path.read_text(), str(path))
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    found = []
    for node in body:
        targets = [t for t in getattr(node, "targets", []) for t in (t.elts if isinstance(t, ast.Tuple) else [t])]
        names = {t.id for t in targets if isinstance(t, ast.Name)}
        lazy = isinstance(getattr(node, "value", None), ast.Call) and getattr(node.value.func, "id", "") == "lazy_exports"
        if not isinstance(node, (ast.Import, ast.ImportFrom)) and not (names == {"__all__"} or lazy):
            found.append(f"line {node.lineno}: {ast.dump(node)[:60]}")
    code_lines = {line for node in body for line in range(node.lineno, node.end_lineno + 1)}
    if len(code_lines) > MOST_CODE_LINES:
        found.append(f"{len(code_lines)} code lines (at most {MOST_CODE_LINES})")
    return found


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_package_init_only_re_exports(path):
    assert not what_is_not_a_re_export(path), f"{path.relative_to(ROOT)}: {what_is_not_a_re_export(path)}"


def test_the_re_export_check_can_fail(tmp_path):
    """A function, or a re-export list longer than the limit, is reported."""
    logic = tmp_path / "__init__.py"
    logic.write_text('"""doc"""\nimport os\n__all__ = ["x"]\n\ndef helper():\n    return 1\n')
    assert [p.split(":")[0] for p in what_is_not_a_re_export(logic)] == ["line 5"]
    logic.write_text("from a import (\n" + "".join(f"    n{i},\n" for i in range(MOST_CODE_LINES)) + ")\n")
    assert what_is_not_a_re_export(logic) == [f"{MOST_CODE_LINES + 2} code lines (at most {MOST_CODE_LINES})"]
