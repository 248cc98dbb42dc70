"""A first `compose up` (nothing of the stack runs) starts each unit as soon as its image is
built; a build that fails takes down what had started, data kept, and exits 2 (Docker failed) naming the image."""

import subprocess
from contextlib import contextmanager

from maestro_deploy import cli
from maestro_deploy import local as local_run
from maestro_deploy.exit_codes import EXIT_INFRASTRUCTURE


def test_a_failed_build_leaves_nothing_of_a_first_up_running(tmp_path, monkeypatch, capsys):
    calls: list[str] = []

    def docker(args, check=True, env=None):  # no stack runs and no database kept its data
        return subprocess.CompletedProcess(args, 0, "", "")

    @contextmanager
    def building(self, progress):
        calls.append("building")
        yield {}

    def up(self, images):
        calls.append("up engine-db")  # started while the reference image still built
        raise local_run.BuildFailed("image maestro-reference:dev did not build (docker build reference):\nno space left on device")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    monkeypatch.setattr(local_run.Compose, "building", building)
    monkeypatch.setattr(local_run.Compose, "up", up)
    monkeypatch.setattr(local_run.Compose, "down", lambda self, delete_data: calls.append(f"down delete_data={delete_data}"))
    out, state = tmp_path / "out", tmp_path / "state"
    assert cli.main(["compose", "up", "dev", "--out", str(out), "--state", str(state)]) == EXIT_INFRASTRUCTURE
    assert calls == ["building", "up engine-db", "down delete_data=False"]
    err = capsys.readouterr().err
    assert "error: image maestro-reference:dev did not build (docker build reference):\nno space left on device" in err
    assert "Traceback" not in err
