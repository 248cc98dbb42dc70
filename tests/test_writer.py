"""The one writer (maestro_deploy.safety.files): through every command that writes (render for
Kubernetes and Docker, the Compose export's state, ephemeral results), no symbolic link is
followed, a forged or damaged marker costs nothing, a user's file is never overwritten, and a
user-given file that is not a regular file of sane size is refused at once."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maestro_deploy import cli
from maestro_deploy.ephemeral import report
from maestro_deploy.safety.files import MARKER, File, claim

# Each writer, as a user runs it: (argv builder, a file it writes).
WRITERS = {
    "render-kubernetes": (lambda out, state: ["render", "engine-only", "--out", str(out)], "deployment-engine.yaml"),
    "render-docker": (lambda out, state: ["render", "dev", "--out", str(out), "--state", str(state)], "compose.yaml"),
}


def run(capsys, argv) -> tuple[int, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def elsewhere(tmp_path):
    """A directory outside the output, with a file that must survive every attempt."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    (directory / "victim").write_text("precious\n")
    return directory


def forge(out: Path, files) -> None:
    out.mkdir(exist_ok=True)
    (out / MARKER).write_text(json.dumps({"written by": "maestro-deploy", "files": files}))


@pytest.mark.parametrize("writer", WRITERS)
def test_a_marker_entry_through_a_symlinked_directory_deletes_nothing(tmp_path, capsys, elsewhere, writer):
    argv, _ = WRITERS[writer]
    out = tmp_path / "out"
    forge(out, {"link/victim": sha(b"precious\n")})
    (out / "link").symlink_to(elsewhere)
    code, err = run(capsys, argv(out, tmp_path / "state"))
    assert code == 0, err
    assert (elsewhere / "victim").read_text() == "precious\n"


@pytest.mark.parametrize("writer", WRITERS)
def test_a_forged_marker_costs_nothing(tmp_path, capsys, writer):
    argv, _ = WRITERS[writer]
    out = tmp_path / "out"
    forge(out, {"my-notes.txt": "0" * 64})  # lists a user's file, with a hash it never had
    (out / "my-notes.txt").write_text("mine\n")
    assert run(capsys, argv(out, tmp_path / "state"))[0] == 0
    assert (out / "my-notes.txt").read_text() == "mine\n"


@pytest.mark.parametrize("files", ["abc", ["my-notes.txt"], {"../x": "0" * 64}, {"/etc/passwd": "0" * 64}, {"a": "short"}])
@pytest.mark.parametrize("writer", WRITERS)
def test_a_marker_of_the_wrong_shape_is_refused_and_deletes_nothing(tmp_path, capsys, writer, files):
    argv, _ = WRITERS[writer]
    out = tmp_path / "out"
    forge(out, files)
    for name in ("a", "b", "c", "my-notes.txt"):
        (out / name).write_text("mine\n")
    code, err = run(capsys, argv(out, tmp_path / "state"))
    assert code == 2 and f"error: --out: {out}: its {MARKER} is damaged" in err
    assert all((out / name).read_text() == "mine\n" for name in ("a", "b", "c", "my-notes.txt"))


@pytest.mark.parametrize("writer", WRITERS)
def test_a_users_file_under_a_rendered_name_is_an_error_naming_it(tmp_path, capsys, writer):
    argv, name = WRITERS[writer]
    out = tmp_path / "out"
    assert run(capsys, argv(out, tmp_path / "state"))[0] == 0
    (out / name).write_text("edited by hand\n")
    code, err = run(capsys, argv(out, tmp_path / "state"))
    assert code == 2 and f"error: --out: {out / name}: is in the way" in err
    assert (out / name).read_text() == "edited by hand\n"


@pytest.mark.parametrize("writer", WRITERS)
def test_a_rendered_name_that_became_a_symlink_is_not_written_through(tmp_path, capsys, elsewhere, writer):
    argv, name = WRITERS[writer]
    out = tmp_path / "out"
    assert run(capsys, argv(out, tmp_path / "state"))[0] == 0
    (out / name).unlink()
    (out / name).symlink_to(elsewhere / "victim")
    code, err = run(capsys, argv(out, tmp_path / "state"))
    assert code == 2 and f"{out / name}: is in the way" in err
    assert (elsewhere / "victim").read_text() == "precious\n"


def test_generated_passwords_are_not_written_through_a_secrets_symlink(tmp_path, capsys, elsewhere):
    out = tmp_path / "out"
    out.mkdir()
    (out / "secrets").symlink_to(elsewhere)
    code, err = run(capsys, ["render", "dev", "--out", str(out), "--state", str(tmp_path / "state")])
    assert code == 2 and "did not write" in err  # not ours: the directory holds a link it did not write
    assert sorted(p.name for p in elsewhere.iterdir()) == ["victim"]


def test_a_secrets_symlink_planted_in_a_rendered_directory_is_not_followed(tmp_path, capsys, elsewhere):
    out, state = tmp_path / "out", tmp_path / "state"
    assert run(capsys, ["render", "dev", "--out", str(out), "--state", str(state)])[0] == 0
    secrets = out / "secrets"
    for path in sorted(secrets.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    secrets.rmdir()
    secrets.symlink_to(elsewhere)
    code, err = run(capsys, ["render", "dev", "--out", str(out), "--state", str(state)])
    assert code == 2 and "cannot write there (a symbolic link or a file where a directory belongs: secrets)" in err
    assert sorted(p.name for p in elsewhere.iterdir()) == ["victim"]


def test_the_state_file_is_never_read_or_written_through_a_symlink(tmp_path, capsys, elsewhere):
    state = tmp_path / "state"
    state.mkdir()
    (state / "dev.generated.json").symlink_to(elsewhere / "victim")
    code, err = run(capsys, ["render", "dev", "--out", str(tmp_path / "out"), "--state", str(state)])
    assert code == 2 and f"error: --state: {state / 'dev.generated.json'}: cannot read it" in err
    assert (elsewhere / "victim").read_text() == "precious\n"
    (state / "dev.generated.json").unlink()
    state.rmdir()
    state.symlink_to(elsewhere)
    code, err = run(capsys, ["render", "dev", "--out", str(tmp_path / "out2"), "--state", str(state)])
    assert code == 2 and f"error: --state: {state}: is a symbolic link" in err
    assert sorted(p.name for p in elsewhere.iterdir()) == ["victim"]


@pytest.mark.parametrize("damage", ["{not json", "[1, 2]", '{"engine-db-password": 5}', "file"])
def test_a_damaged_state_or_a_state_path_that_is_a_file_is_a_clear_error(tmp_path, capsys, damage):
    state = tmp_path / "state"
    if damage == "file":
        state.write_text("a file\n")
    else:
        state.mkdir()
        (state / "dev.generated.json").write_text(damage)
    for argv in (["render", "dev", "--out", str(tmp_path / "out"), "--state", str(state)], ["outputs", "dev", "--state", str(state)]):
        code, err = run(capsys, argv)
        assert code == 2 and err.startswith(f"error: --state: {state}"), err


def test_out_is_claimed_before_any_state_is_written(tmp_path, capsys):
    out, state = tmp_path / "out", tmp_path / "state"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine\n")
    code, err = run(capsys, ["render", "dev", "--out", str(out), "--state", str(state)])
    assert code == 2 and "did not write" in err
    assert not state.exists()  # no generated password left behind by a refused render


def test_ephemeral_results_go_through_the_writer(tmp_path, elsewhere):
    results = tmp_path / "results"
    report(results, {"stack-name": "x\n"})
    (results / "junit.xml").symlink_to(elsewhere / "victim")
    with pytest.raises(Exception, match="is in the way"):
        report(results, {"stack-name": "x\n", "junit.xml": "<testsuite/>"})
    assert (elsewhere / "victim").read_text() == "precious\n"


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    out = tmp_path / "out"
    claim(out).replace({"a/b.txt": File("one\n"), "secrets/s.env": File("S=1\n", mode=0o600, secret=True)})
    claim(out).replace({"a/b.txt": File("two\n")})
    assert (out / "a/b.txt").read_text() == "two\n" and not (out / "secrets").exists()
    assert sorted(p.name for p in out.rglob("*")) == sorted([MARKER, "a", "b.txt"])


# --- user-given files: regular files of sane size, else exit 2 at once ---


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge", "directory"])
def test_a_user_given_file_that_is_not_a_regular_file_of_sane_size_is_refused_at_once(tmp_path, capsys, kind):
    path = tmp_path / "Pulumi.x.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "huge":
        with open(path, "wb") as f:
            f.truncate(2 * 2**30)  # sparse: 2 GiB that cost nothing on disk
    else:
        path.mkdir()
    for argv in (["check", str(path)], ["check", "dev", "--stack-outputs", str(path)]):
        code, err = run(capsys, argv)
        assert code == 2 and err.startswith(f"error: {path}: ") and ("regular file" in err or "larger than" in err), err


def test_outputs_into_a_closed_pipe_ends_quietly(tmp_path):
    exe = Path(sys.executable).with_name("maestro-deploy")
    process = subprocess.Popen([str(exe), "outputs", "dev", "--state", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # `| head` that has read enough, before a byte is written
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_write_that_fails_halfway_records_what_it_wrote(tmp_path, monkeypatch):
    """A disk that fills after the first file: the marker records that file, so the next write
    replaces it rather than calling it the user's and refusing for good."""
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.safety import files

    out = tmp_path / "out"
    real = files._write_atomically
    calls = []

    def full_disk(parent, base, data, mode, owner):
        calls.append(base)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(parent, base, data, mode, owner)

    monkeypatch.setattr(files, "_write_atomically", full_disk)
    with pytest.raises(ConfigError, match="No space left on device"):
        claim(out).replace({"a.yaml": File("a"), "b.yaml": File("b")})
    monkeypatch.setattr(files, "_write_atomically", real)
    assert json.loads((out / MARKER).read_text())["files"] == {"a.yaml": sha(b"a")}
    claim(out).replace({"a.yaml": File("a2"), "b.yaml": File("b2")})
    assert (out / "a.yaml").read_text() == "a2" and (out / "b.yaml").read_text() == "b2"


def test_a_users_directory_under_a_made_directorys_name_is_refused_and_untouched(tmp_path):
    """The writer sets a mode only on a directory it made: the user's stays theirs (and 0700)."""
    from maestro_deploy.config.errors import ConfigError

    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")})
    mine = out / "reports" / "runner"
    mine.mkdir(parents=True, mode=0o700)
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="reports/runner: is in the way: a directory maestro-deploy did not make"):
        claim(out).replace({"compose.yaml": File("y")}, directories={"reports/runner": 0o777})
    assert (mine.stat().st_mode & 0o777) == 0o700 and (mine / "notes.txt").read_text() == "mine"
    assert (out / "compose.yaml").read_text() == "x"  # refused before anything was written


def test_a_made_directory_is_recorded_and_removed_once_no_write_needs_it(tmp_path):
    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    assert json.loads((out / MARKER).read_text())["directories"] == ["reports/runner"]
    assert ((out / "reports" / "runner").stat().st_mode & 0o777) == 0o777
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})  # its own: taken again
    claim(out).replace({"deployment.yaml": File("k")})  # a render for another platform
    assert not (out / "reports").exists()


def test_a_marker_from_before_directories_were_recorded_takes_them_once(tmp_path):
    """A render made by an earlier version: its directories are taken as its own, then recorded."""
    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    marker = json.loads((out / MARKER).read_text())
    del marker["directories"]
    (out / MARKER).write_text(json.dumps(marker))
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    assert json.loads((out / MARKER).read_text())["directories"] == ["reports/runner"]


def test_removing_a_written_directory_leaves_what_the_user_put_in_it(tmp_path):
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.safety.files import remove_owned

    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x"), "secrets/engine.env": File("s", secret=True)})
    (out / "NOTES.md").write_text("mine")
    with pytest.raises(ConfigError, match="holds NOTES.md, which maestro-deploy did not write"):
        remove_owned(out, "--out")
    assert (out / "NOTES.md").read_text() == "mine" and not (out / "compose.yaml").exists()
    (out / "NOTES.md").unlink()
    remove_owned(out, "--out")
    assert not out.exists()


def test_state_inside_the_render_is_refused(tmp_path, capsys):
    """An upgrade moves the export aside whole, and the passwords kept in it would go with it."""
    out = tmp_path / "deploy"
    code, err = run(capsys, ["render", "dev", "--out", str(out), "--state", str(out / "state")])
    assert code == 2 and f"error: --state: {out / 'state'} is inside --out {out}" in err
    assert not out.exists()


def test_a_path_with_a_control_character_is_refused_and_a_printed_path_is_quoted(tmp_path, capsys):
    code, err = run(capsys, ["render", "dev", "--out", str(tmp_path / "nl\nerror: fake"), "--state", str(tmp_path / "s")])
    assert code == 2 and "holds a control character" in err and "\nerror: fake" not in err
    out = tmp_path / "my out;$(id)"
    assert cli.main(["render", "dev", "--out", str(out), "--state", str(tmp_path / "s")]) == 0
    assert f"-f '{out}/compose.yaml' up -d" in capsys.readouterr().out


def test_what_containers_wrote_into_a_made_directory_goes_with_it_and_no_link_is_followed(tmp_path, elsewhere):
    """A runner's reports, in the directory made for them, go when the export is removed; a
    symbolic link among them is removed, never followed."""
    from maestro_deploy.safety.files import remove_owned

    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    reports = out / "reports" / "runner"
    (reports / "run-1").mkdir()
    (reports / "run-1" / "junit.xml").write_text("<testsuite/>")
    (reports / "outside").symlink_to(elsewhere)
    remove_owned(out, "--out")
    assert not out.exists()
    assert (elsewhere / "victim").read_text() == "precious\n"


def test_a_made_directory_that_became_a_symlink_is_an_error_and_nothing_beyond_it_goes(tmp_path, elsewhere):
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.safety.files import remove_owned

    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    (out / "reports" / "runner").rmdir()
    (out / "reports" / "runner").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="a symbolic link or a file where a directory belongs"):
        remove_owned(out, "--out")
    assert (elsewhere / "victim").read_text() == "precious\n"


def test_an_export_of_the_earlier_version_is_removed_with_its_runners_reports(tmp_path):
    """A marker without `directories` (written before they were recorded): the directory that
    version made world-writable for a runner goes, with what the runner wrote."""
    from maestro_deploy.safety.files import remove_owned

    out = tmp_path / "dev-compose.previous"
    claim(out).replace({"compose.yaml": File("x")})
    reports = out / "reports" / "runner"
    reports.mkdir(parents=True)
    reports.chmod(0o777)
    (reports / "junit.xml").write_text("<testsuite/>")
    marker = json.loads((out / MARKER).read_text())
    del marker["directories"]
    (out / MARKER).write_text(json.dumps(marker))
    remove_owned(out, "--out")
    assert not out.exists()


def test_a_marker_naming_a_users_directory_empties_nothing(tmp_path):
    """Forged or copied: a directory is emptied only while world-writable, as the writer made it."""
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.safety.files import remove_owned

    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")})
    (out / "notes").mkdir(mode=0o755)
    (out / "notes" / "mine.txt").write_text("mine")
    marker = json.loads((out / MARKER).read_text())
    (out / MARKER).write_text(json.dumps({**marker, "directories": ["notes"]}))
    with pytest.raises(ConfigError, match="holds notes"):
        remove_owned(out, "--out")
    assert (out / "notes" / "mine.txt").read_text() == "mine"


def test_a_write_that_fails_after_making_its_directories_still_records_them(tmp_path, monkeypatch):
    """A full disk on the first file: the directories made are recorded, so the directory stays
    the writer's and a later write (or removal) is not refused."""
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.safety import files

    out = tmp_path / "out"
    real = files._write_atomically

    def full_disk(parent, base, data, mode, owner):
        if base != MARKER:
            raise OSError(28, "No space left on device")
        return real(parent, base, data, mode, owner)

    monkeypatch.setattr(files, "_write_atomically", full_disk)
    with pytest.raises(ConfigError, match="No space left on device"):
        claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    monkeypatch.setattr(files, "_write_atomically", real)
    files.remove_owned(out, "--out")
    assert not out.exists()


def test_a_made_directory_that_still_holds_reports_stays_recorded(tmp_path):
    """A product taken out, then put back: its runner's reports kept the directory, which is
    still the writer's, so putting the product back is not refused."""
    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    (out / "reports" / "runner" / "junit.xml").write_text("<testsuite/>")
    claim(out).replace({"compose.yaml": File("y")})
    assert json.loads((out / MARKER).read_text())["directories"] == ["reports/runner"]
    claim(out).replace({"compose.yaml": File("z")}, directories={"reports/runner": 0o777})


def test_reports_nested_too_deeply_are_an_error_not_a_traceback(tmp_path):
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.safety.files import remove_owned

    out = tmp_path / "out"
    claim(out).replace({"compose.yaml": File("x")}, directories={"reports/runner": 0o777})
    deep = out / "reports" / "runner"
    for _ in range(40):
        deep = deep / "d"
    deep.mkdir(parents=True)
    with pytest.raises(ConfigError, match="nested too deeply to remove"):
        remove_owned(out, "--out")
