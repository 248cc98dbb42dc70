"""The fenced code blocks of the README and docs/, with what the line before each says of it.

A block is run by tests/test_docs.py as it stands. An HTML comment on the line before a fence,
invisible on GitHub, says how:

    <!-- doc-test: file acme_program.py -->     a Python block, saved under this name
    <!-- doc-test: error -->                    a YAML stack that `check` refuses; the next
                                                ```text block is exactly what it prints
    <!-- doc-test: skip (needs Docker) -->      a shell block that cannot run offline, and why
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples/customer-program/README.md"]
MARKER = re.compile(r"<!-- doc-test: (?P<kind>file|error|skip)(?: (?P<detail>.+?))? -->")
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
