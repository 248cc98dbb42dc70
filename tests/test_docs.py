"""The README is short and points into docs/; every relative link in them resolves, to a file
and, where it names one, to a heading of that file. Every code block in them runs as it stands
(tests/doc_blocks.py says how a block is marked)."""

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from doc_blocks import DOCUMENTS as EVERY_DOCUMENT, SHELLS, blocks, every_block, following_text, run_document

from maestro_deploy import cli

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


def is_stack(block) -> bool:
    documents = list(yaml.safe_load_all(block.text))  # every YAML block parses, stack or not
    return len(documents) == 1 and isinstance(documents[0], dict) and "config" in documents[0]


STACK_BLOCKS = [b for b in every_block("yaml") if is_stack(b)]


@pytest.mark.parametrize("block", STACK_BLOCKS, ids=lambda b: b.where)
def test_every_yaml_stack_block_is_a_stack_check_accepts_or_its_documented_error(block, tmp_path, capsys):
    """A stack in the docs is one `check` accepts; one marked as an error example prints exactly
    the ```text block that follows it."""
    path = tmp_path / "Pulumi.doc.yaml"
    path.write_text(block.text)
    code = cli.main(["check", str(path), "--stack-outputs", str(ROOT / "tests/corpus/stack-outputs.json")])
    captured = capsys.readouterr()
    if block.marker == "error":
        assert code == 2 and captured.err == following_text(block).text
    else:
        assert code == 0, captured.err


def documented_errors(document):
    """The ```text blocks that show what `check` prints for a bad stack."""
    return [b for b in blocks(document) if b.lang == "text" and re.search(r"^error: ", b.text, re.M)]


@pytest.mark.parametrize("document", EVERY_DOCUMENT, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_documented_error_is_what_check_prints_for_the_stack_before_it(document):
    """An error in the docs is an error example's output, which the test above compares with
    what `check` prints: none is written by hand and left to drift."""
    examples = [b for b in blocks(document) if b.marker == "error"]
    shown = {following_text(b).line for b in examples}
    for block in documented_errors(document):
        assert block.line in shown, f"{block.where}: put the stack it is printed for before it, marked <!-- doc-test: error -->"


def test_the_readme_shows_every_problem_of_a_stack_at_once():
    """The README's error examples, compatibility error included, as `check` prints them."""
    texts = [following_text(b).text for b in STACK_BLOCKS if b.marker == "error" and b.document.name == "README.md"]
    assert any(t.count("error: ") >= 3 and "requires engine" in t for t in texts), texts


def test_the_docs_hold_a_stack_to_check():
    assert any(b.document.name == "README.md" for b in STACK_BLOCKS)


SHELL_BLOCKS = [b for d in EVERY_DOCUMENT for b in blocks(d) if b.lang in SHELLS]
RUN_DOCUMENTS = sorted({b.document for b in SHELL_BLOCKS if b.marker == "run"})


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Each document run once (doc_blocks.run_document): its directory, and what each block did."""
    done = {}

    def of(document):
        if document not in done:
            workdir = tmp_path_factory.mktemp(document.stem)
            done[document] = (workdir, run_document(document, workdir))
        return done[document]

    return of


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.where)
def test_every_shell_block_runs_offline_or_says_why_not(block):
    """Marked `run`, or `skip (needs ...)`: a new block without a marker fails here. One that
    cannot run here is still valid shell, and its `maestro-deploy` commands are ones the CLI takes."""
    assert block.lang in ("bash", "sh"), f"{block.where}: a shell block is ```bash (or ```sh), so it can run"
    assert block.marker in ("run", "skip"), f"{block.where}: mark it <!-- doc-test: run --> or <!-- doc-test: skip (needs ...) -->"
    if block.marker == "skip":
        assert re.fullmatch(r"\(needs .+\)", block.detail or ""), f"{block.where}: say why it cannot run: skip (needs ...)"
    syntax = subprocess.run(["bash", "-n", "-c", block.text], capture_output=True, text=True)
    assert syntax.returncode == 0, f"{block.where}: {syntax.stderr}"
    for line in block.text.splitlines():
        words = shlex.split(line, comments=True) if line.startswith("maestro-deploy ") else []
        if words:
            try:
                cli.parser().parse_args(words[1:])
            except SystemExit:
                pytest.fail(f"{block.where}: `{line}`: the CLI does not take it")


@pytest.mark.parametrize("document", RUN_DOCUMENTS, ids=lambda p: p.name)
def test_every_offline_shell_block_runs_as_it_stands(document, ran):
    for done in ran(document)[1]:
        assert done.returncode == 0, f"{done.block.where}: exit {done.returncode}\n{done.output}"


def test_the_gitops_recipe_keeps_the_user_s_secrets_and_brings_back_no_masked_one(ran):
    """docs/recipes.md end to end: a render without secrets, the SealedSecrets and the ExternalSecret
    of its user named in user-resources.yaml, a render again; `kubectl kustomize` then builds the
    user's objects, no Secret of the render's, and every Secret expected-secrets.yaml lists comes from
    one of the user's objects, with every key."""
    if shutil.which("kubectl") is None:
        pytest.skip("needs kubectl (scripts/gates installs it)")
    workdir, runs = ran(ROOT / "docs/recipes.md")
    assert runs and all(done.returncode == 0 for done in runs), [done.output for done in runs]
    out = workdir / "deploy/staging"
    users = yaml.safe_load((out / "user-resources.yaml").read_text())["resources"]
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())["resources"]
    assert kustomization[-len(users):] == users and not any(name.startswith("secret-") for name in kustomization)
    assert not list(out.glob("secret-*.yaml"))
    recorded = json.loads((out / ".maestro-deploy-output.json").read_text())["files"]
    assert not set(recorded) & {*users, "user-resources.yaml"}, "the render's marker never claims a file of the user's"
    built = list(yaml.safe_load_all(subprocess.run(["kubectl", "kustomize", str(out)], capture_output=True, text=True, check=True).stdout))
    assert not [o for o in built if o["kind"] == "Secret"] and "[secret]" not in json.dumps(built)
    provided = {}
    for obj in built:
        if obj["kind"] == "SealedSecret":
            provided[obj["spec"]["template"]["metadata"]["name"]] = set(obj["spec"]["encryptedData"])
        elif obj["kind"] == "ExternalSecret":
            provided[obj["spec"]["target"]["name"]] = {d["secretKey"] for d in obj["spec"]["data"]}
    assert {"SealedSecret", "ExternalSecret"} <= {o["kind"] for o in built}
    expected = yaml.safe_load((out / "expected-secrets.yaml").read_text())["secrets"]
    assert expected and all(s["read_by"] for s in expected)
    for secret in expected:
        assert set(secret["keys"]) <= provided.get(secret["name"], set()), f"{secret['name']}: not supplied by the user's files"
