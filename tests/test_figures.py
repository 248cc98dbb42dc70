"""Every figure in the docs comes from a script that prints it.

A measured figure (a time with decimals, milliseconds, a ratio, a count of tests) sits in a
paragraph, list or code block that says, in a comment invisible on GitHub, which script prints it
and under which labels, each of which the text also uses:

    <!-- figures: scripts/smoke prints "cold up" "warm up" -->
    <!-- figures: not measured (settings and targets) -->     numbers that look like figures but are not

A paragraph carries it on a line of its own; a code block on the line before its fence. The script
must exist and print each label (it is in its source, or in a file of the repo's it runs).
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT
from doc_blocks import DOCUMENTS, FENCE

FIGURE = re.compile(r"\b\d+\.\d+ ?(?:s|ms|x|×|times|seconds)\b|\b\d+ ?ms\b|\b\d+ (?:passed|tests)\b")
ATTRIBUTION = re.compile(r'<!-- figures: (?:(?P<script>\S+) prints (?P<labels>(?:"[^"]+" ?)+)|not measured \((?P<why>[^)]+)\)) -->')


@dataclass
class Unit:
    """A paragraph (or list) or a fenced block, and the figures marker it carries."""

    document: Path
    line: int
    text: str
    marker: str = ""

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def units(document: Path) -> list[Unit]:
    lines = document.read_text().splitlines() + [""]
    found: list[Unit] = []
    start = 0
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            end = lines.index("```", i + 1)
            above = lines[start:i]
            if above:
                found.append(Unit(document, start + 1, "\n".join(above)))
            marker = next((line for line in reversed(above) if ATTRIBUTION.fullmatch(line.strip())), "")
            found.append(Unit(document, i + 1, "\n".join(lines[i + 1 : end]), marker if above and ATTRIBUTION.fullmatch(above[-1].strip()) else ""))
            i = start = end + 1
        elif not lines[i].strip():
            if start < i:
                text = "\n".join(lines[start:i])
                marker = next((line.strip() for line in lines[start:i] if ATTRIBUTION.fullmatch(line.strip())), "")
                found.append(Unit(document, start + 1, text, marker))
            i += 1
            start = i
        else:
            i += 1
    return found


def printed_by(script: Path) -> str:
    """The script's source, and that of the repo's files it names (what it runs)."""
    text = script.read_text()
    named = {ROOT / m for m in re.findall(r"(?<![\w/.])((?:bench|scripts|tests)/[\w./-]+\.py|scripts/[\w-]+)\b", text)}
    return text + "".join(path.read_text() for path in sorted(named) if path.is_file() and path != script)


def plain(text: str) -> str:
    return re.sub(r"[*`]", "", text).lower()


FIGURED = [u for d in DOCUMENTS for u in units(d) if FIGURE.search(ATTRIBUTION.sub("", u.text))]


def test_the_docs_hold_figures():
    assert {u.document.name for u in FIGURED} >= {"README.md", "benchmark.md"}


@pytest.mark.parametrize("unit", FIGURED, ids=lambda u: u.where)
def test_every_figure_names_the_script_that_prints_it(unit):
    figures = FIGURE.findall(ATTRIBUTION.sub("", unit.text))
    assert unit.marker, f'{unit.where}: {figures}: say which script prints them: <!-- figures: scripts/X prints "label" -->'
    attribution = ATTRIBUTION.fullmatch(unit.marker)
    if attribution["why"]:
        return
    script = ROOT / attribution["script"]
    assert script.is_file() and script.stat().st_mode & 0o111, f"{unit.where}: {attribution['script']} is no script of this repo"
    source = printed_by(script)
    for label in re.findall(r'"([^"]+)"', attribution["labels"]):
        assert label in source, f"{unit.where}: {attribution['script']} prints no {label!r}"
        assert plain(label) in plain(ATTRIBUTION.sub("", unit.text)), f"{unit.where}: the text does not say {label!r}"


def test_a_figure_without_its_script_is_found(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("It took 12.5 s.\n\n<!-- figures: scripts/smoke prints \"cold up\" -->\ncold up: 3.1 s\n\n```text\n700 passed\n```\n")
    found = units(doc)
    assert [(bool(FIGURE.search(u.text)), bool(u.marker)) for u in found] == [(True, False), (True, True), (True, False)]
