"""The README is short and points into docs/; every relative link in them resolves, to a file
and, where it names one, to a heading of that file."""

import re
from pathlib import Path

import pytest
from conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchors: a heading lowercased, punctuation dropped, spaces as hyphens."""
    return {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in path.read_text().splitlines()
        if line.startswith("#") and not line.startswith("#!")
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves(document):
    in_code = False
    for line in document.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        for target in LINK.findall(line):
            if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
                continue
            path, _, anchor = target.partition("#")
            resolved = (document.parent / path) if path else document
            assert resolved.exists(), f"{document.name}: {target} does not exist"
            if anchor and resolved.suffix == ".md":
                assert anchor in anchors(resolved), f"{document.name}: {target} names no heading of {resolved.name}"


def test_the_readme_indexes_every_doc_and_keeps_only_the_essentials():
    readme = (ROOT / "README.md").read_text()
    for doc in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{doc.name})" in readme, f"the README's index lacks docs/{doc.name}"
    headings = [line for line in readme.splitlines() if line.startswith("## ")]
    assert headings == ["## The two commands", "## The command-line tool", "## The stack config contract", "## Documentation"]


def test_the_link_check_can_fail(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("see [nothing](nowhere.md) and [this](#no-such-heading)\n")
    assert not (tmp_path / "nowhere.md").exists() and "no-such-heading" not in anchors(doc)
