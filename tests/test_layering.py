"""The layers run one way: the library (components/, imported as maestro_components) never
imports the tool (maestro_deploy), and nothing imports the library by a bare `components`."""

import ast

import pytest
from conftest import ROOT


def imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
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
