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
