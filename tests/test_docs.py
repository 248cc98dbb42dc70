"""The README is short and points into docs/; every relative link in them resolves, to a file
and, where it names one, to a heading of that file. Every code block in them runs as it stands
(tests/doc_blocks.py says how a block is marked)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from doc_blocks import blocks, every_block

from maestro_deploy.testing import render_program

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


@pytest.mark.parametrize("document", sorted({b.document for b in every_block("python")}), ids=lambda p: p.name)
def test_every_python_block_runs_unchanged(document, tmp_path):
    """Saved under the name its marker gives: a program's `main()` runs under the testing API,
    and the test files run under pytest with the installed plugin, beside the program they import."""
    python = [b for b in blocks(document) if b.lang == "python"]
    for block in python:
        assert block.marker == "file" and block.detail, f"{block.where}: name its file: <!-- doc-test: file NAME.py -->"
        (tmp_path / block.detail).write_text(block.text)
    tests = [b.detail for b in python if b.detail.startswith("test_")]
    for block in python:
        if block.detail not in tests:
            spec = importlib.util.spec_from_file_location(f"doc_{Path(block.detail).stem}", tmp_path / block.detail)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            assert callable(getattr(module, "main", None)), f"{block.where}: a program defines main(), which `pulumi up` and its tests call"
            render_program(module.main)
    if tests:
        (tmp_path / "stacks").symlink_to(ROOT / "stacks")  # the stack files a test names, as in a project
        ran = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *tests],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        defined = sum(len(re.findall(r"^def test_", b.text, re.M)) for b in python if b.detail in tests)
        assert f"{defined} passed" in ran.stdout, ran.stdout
