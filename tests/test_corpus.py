"""Malformed stack files (tests/corpus/): each exits 2 with one line per error, naming its
key path and what was expected, with no traceback and no resource registered.

Each file says what it expects in `# expect: <text>` lines, one per error line, in order."""

import re

import pytest
from conftest import ROOT

from maestro_deploy import cli

CORPUS = ROOT / "tests" / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))
STACK_OUTPUTS = str(CORPUS / "stack-outputs.json")


def expected(path):
    return [m.group(1) for m in re.finditer(rb"^# expect: (.*)$", path.read_bytes(), re.M)]


def never_shown(path):
    """`# never-shown: TEXT`: a secret or a URL's password in the file, which no output may carry."""
    return [m.group(1).decode() for m in re.finditer(rb"^# never-shown: (.*)$", path.read_bytes(), re.M)]


def test_the_corpus_is_large_enough():
    assert len(FILES) >= 40
    assert all(expected(f) for f in FILES), [f.name for f in FILES if not expected(f)]


@pytest.mark.parametrize("command", ["check", "render"])
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_a_malformed_stack_file_exits_2_naming_each_problem(tmp_path, capsys, nothing_registered, path, command):
    out = tmp_path / "out"
    argv = [command, str(path), "--stack-outputs", STACK_OUTPUTS] + (["--out", str(out)] if command == "render" else [])
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith(("warning: ", "note: "))]
    assert "Traceback" not in captured.err + captured.out
    wants = [w.decode() for w in expected(path)]
    assert len(lines) == len(wants), captured.err
    for line, want in zip(lines, wants):
        assert line.startswith("error: ") and want in line, f"{line!r} lacks {want!r}"
    for secret in never_shown(path):
        assert secret not in captured.err + captured.out, f"{secret} was shown"
        assert re.match(r"error: \S+: \S", line), f"no key path in {line!r}"
    assert not out.exists()


def test_someone_elses_broken_stack_names_its_key(capsys):
    path = ROOT / "tests" / "fixtures" / "Pulumi.someone-else-broken.yaml"
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error: maestro:components.quality-fabric.target.frontend_url: expected an absolute http:// or https:// URL" in err
    assert "error: maestro:components.engine.resources.limits.memory: expected a Kubernetes quantity" in err
