"""`compose up` without the generated passwords (`--state`) of a stack whose bundled database
kept its data: refused, naming the file and what to do, before anything is rendered or started
(a new password would be refused by PostgreSQL, and the engine would answer 503)."""

import subprocess

import pytest

from maestro_deploy import cli
from maestro_deploy import local as local_run

VOLUME = "maestro-dev-engine-db-data-0"


@pytest.fixture
def docker(monkeypatch):
    """Docker as far as the refusal asks it: the stack's database volumes; any other call is recorded."""
    calls: list[list[str]] = []

    def run(args, check=True, env=None):
        calls.append(args)
        if args[:3] == ["docker", "volume", "ls"]:
            wanted = " ".join(args)
            held = "label=maestro.stack=dev" in wanted and "label=maestro.component=database" in wanted
            return subprocess.CompletedProcess(args, 0, VOLUME + "\n" if held else "", "")
        return subprocess.CompletedProcess(args, 1, "", "not asked of this fake")

    monkeypatch.setattr(local_run.daemon, "_run", run)
    return calls


def test_a_database_that_kept_its_data_is_not_given_a_new_password(docker, tmp_path, capsys):
    state, out = tmp_path / "state", tmp_path / "out"
    assert cli.main(["compose", "up", "dev", "--state", str(state), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--state: {state}/dev.generated.json is missing, yet {VOLUME} holds a database" in err
    assert "maestro-deploy compose down dev --delete-data" in err and "Traceback" not in err
    # Nothing written, generated or started: the next run is refused the same way.
    assert not state.exists() and not out.exists()
    assert [c[:3] for c in docker] == [["docker", "volume", "ls"]]


def test_the_kept_passwords_or_no_kept_database_let_it_through(docker, tmp_path, monkeypatch):
    from maestro_deploy.offline.compose import save_generated

    state = tmp_path / "state"
    save_generated(state, "dev", {"engine-db-password": "kept"})
    cli._refuse_lost_passwords("dev", state, local_run.Daemon())  # its passwords kept: no question asked
    assert docker == []
    cli._refuse_lost_passwords("staging", tmp_path / "empty", local_run.Daemon())  # no database kept its data
    assert [c[:3] for c in docker] == [["docker", "volume", "ls"]]


def test_a_generated_password_quoted_in_a_message_is_masked(tmp_path, capsys):
    """A unit's health answer or a Docker error may quote a connection error: the passwords this
    tool generated are secrets like the config's, redacted from every printed line."""
    from maestro_deploy.offline.compose import load_generated, save_generated
    from maestro_deploy.safety.redaction import redacted_output

    password = "Xq7generated0password0value0123"
    save_generated(tmp_path, "dev", {"engine-db-password": password})
    with redacted_output():
        load_generated(tmp_path, "dev")  # what compose up reads before it waits for health
        print(f'error: engine (unhealthy; GET /health answered 503: {{"database": "refused: dbname=maestro password={password}"}})')
    printed = capsys.readouterr().out
    assert password not in printed and "refused: dbname=maestro password=" in printed
