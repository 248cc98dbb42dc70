"""`maestro-deploy graph`: the wiring drawn, and the drawings in docs/stack-diagrams.md current."""

import re

import pytest
from conftest import ROOT, STACKS
from harness import render_env, stack_env

from maestro_deploy.program.graph import mermaid


def test_the_graph_draws_every_unit_and_wire():
    text = mermaid("staging", stack_env("staging").outputs["wiring"])
    assert text.startswith("flowchart LR\n")
    for edge in ("hive --> engine", "engine --> engine_db", "quality_fabric_runner --> frontend", "frontend -.->|browser| engine"):
        assert f"  {edge}\n" in text
    assert 'engine["api 1.2.3"]' in text and 'engine_db["database 16.4"]' in text


def test_external_targets_are_external_nodes():
    env = render_env(
        {
            "maestro:kubernetes": {"namespace": "x", "domain": "x.example.com"},
            "maestro:components": {"frontend": {"backend": {"url": "https://api.acme.example.com/api"}}},
        }
    )
    text = mermaid("x", env.outputs["wiring"])
    assert 'ext0(("https://api.acme.example.com/api")):::external' in text
    assert "frontend -.->|browser| ext0" in text


@pytest.mark.parametrize("stack", STACKS)
def test_the_docs_embed_each_stacks_current_diagram(stack):
    diagrams = (ROOT / "docs/stack-diagrams.md").read_text()
    match = re.search(rf"<!-- graph: {re.escape(stack)} -->\n```mermaid\n(.*?)```\n", diagrams, re.S)
    assert match, f"docs/stack-diagrams.md has no diagram for {stack}; run scripts/diagrams"
    assert match.group(1) == mermaid(stack, stack_env(stack).outputs["wiring"]), "run scripts/diagrams"
