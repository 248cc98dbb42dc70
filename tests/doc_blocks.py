"""The fenced code blocks of the README and docs/, with what the line before each says of it.

A block is run by tests/test_docs.py as it stands. An HTML comment on the line before a fence,
invisible on GitHub, says how:

    <!-- doc-test: file acme_program.py -->     a Python block, saved under this name
    <!-- doc-test: error -->                    a YAML stack that `check` refuses; the next
                                                ```text block is exactly what it prints
    <!-- doc-test: run -->                      a shell block that runs offline as it stands
    <!-- doc-test: skip (needs Docker) -->      a shell block that cannot run offline, and why

Every shell block carries one of the last two: a new one without a marker fails the tests.
`run_document` runs a document as a reader would, top to bottom, in a directory of its own: the
blocks marked `file` saved there when reached, the shell blocks marked `run` run there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples/customer-program/README.md"]
MARKER = re.compile(r"<!-- doc-test: (?P<kind>file|error|run|skip)(?: (?P<detail>.+?))? -->")
SHELLS = ("bash", "sh", "shell", "console", "zsh")
FENCE = re.compile(r"^```(?P<lang>[a-z]*)$")


@dataclass
class Block:
    document: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marker: Optional[str] = None  # file | error | skip
    detail: Optional[str] = None

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks(document: Path) -> list[Block]:
    found: list[Block] = []
    lines = document.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = lines.index("```", i + 1)
        marker = MARKER.fullmatch(lines[i - 1].strip()) if i else None
        found.append(
            Block(
                document=document,
                line=i + 1,
                lang=fence["lang"],
                text="\n".join(lines[i + 1 : end]) + "\n",
                marker=marker["kind"] if marker else None,
                detail=marker["detail"] if marker else None,
            )
        )
        i = end + 1
    return found


def every_block(lang: str) -> list[Block]:
    return [b for d in DOCUMENTS for b in blocks(d) if b.lang == lang]


def following_text(block: Block) -> Block:
    """The ```text block after an error example: what `check` prints for it."""
    after = [b for b in blocks(block.document) if b.line > block.line]
    assert after and after[0].lang == "text", f"{block.where}: an error example needs a ```text block after it"
    return after[0]


@dataclass
class Ran:
    block: Block
    returncode: int
    output: str


def run_document(document: Path, workdir: Path) -> list[Ran]:
    """The document's `file` blocks saved and `run` blocks run in order, in `workdir` (a git
    repository, its stacks/ this project's, its HOME its own): what each shell block did."""
    (workdir / "home").mkdir()
    (workdir / "stacks").symlink_to(ROOT / "stacks")
    env = {
        **os.environ,
        "HOME": str(workdir / "home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # maestro-deploy
        **{f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER") for what, value in (("NAME", "docs"), ("EMAIL", "docs@example.com"))},
    }
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True, env=env)
    ran = []
    for block in blocks(document):
        if block.marker == "file":
            path = workdir / block.detail
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text)
        elif block.marker == "run":
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block.text], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
            )
            ran.append(Ran(block, done.returncode, done.stdout + done.stderr))
    return ran
