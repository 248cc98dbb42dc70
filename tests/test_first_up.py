"""A first `compose up` (nothing of the stack runs) starts each unit as soon as its image is
built; a build that fails takes down what had started, data kept, and exits 2 (Docker failed) naming the image."""

import subprocess
from contextlib import contextmanager

import pytest

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


def test_a_running_stack_is_never_taken_down_by_a_failed_build(tmp_path, monkeypatch, capsys):
    """Its containers run, yet its export is not where this up writes (another --out): the
    images are all built first, as for an upgrade, and a failed build touches nothing."""
    calls: list[str] = []

    def docker(args, check=True, env=None):
        if args[:3] == ["docker", "ps", "-a"]:
            return subprocess.CompletedProcess(args, 0, "maestro-dev-engine\n", "")
        if args[:2] == ["docker", "inspect"]:
            return subprocess.CompletedProcess(args, 0, '[{"Name": "/maestro-dev-engine"}]', "")
        return subprocess.CompletedProcess(args, 0, "", "")

    def build_images(self, progress):
        raise local_run.BuildFailed("image maestro-reference:dev did not build (docker build reference):\nexit 3")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    monkeypatch.setattr(local_run.Compose, "build_images", build_images)
    monkeypatch.setattr(local_run.Compose, "down", lambda self, delete_data: calls.append("down"))
    out, state = tmp_path / "elsewhere", tmp_path / "state"
    assert cli.main(["compose", "up", "dev", "--out", str(out), "--state", str(state)]) == EXIT_INFRASTRUCTURE
    assert calls == []
    assert "error: image maestro-reference:dev did not build" in capsys.readouterr().err


def test_a_teardown_that_fails_after_a_failed_build_says_both(tmp_path, monkeypatch, capsys):
    @contextmanager
    def building(self, progress):
        yield {}

    def up(self, images):
        raise local_run.BuildFailed("image maestro-reference:dev did not build (docker build reference):\nexit 3")

    def down(self, delete_data):
        raise local_run.LocalRunError("network maestro-dev kept: it has active endpoints")

    monkeypatch.setattr(local_run.daemon, "_run", lambda args, check=True, env=None: subprocess.CompletedProcess(args, 0, "", ""))
    monkeypatch.setattr(local_run.Compose, "building", building)
    monkeypatch.setattr(local_run.Compose, "up", up)
    monkeypatch.setattr(local_run.Compose, "down", down)
    out, state = tmp_path / "out", tmp_path / "state"
    assert cli.main(["compose", "up", "dev", "--out", str(out), "--state", str(state)]) == EXIT_INFRASTRUCTURE
    err = capsys.readouterr().err
    assert "error: image maestro-reference:dev did not build (docker build reference):\nexit 3\n" in err
    assert "(and taking down the units that had started failed: network maestro-dev kept: it has active endpoints)" in err


def test_a_compose_failure_is_said_at_once_not_waited_on(tmp_path, monkeypatch, capsys):
    """Only units refused for a dependency's health are waited for (to name them with their
    logs): Compose failing to start them (a port taken) is said as it is, without a wait."""
    @contextmanager
    def building(self, progress):
        yield {}

    def up(self, images):
        raise local_run.LocalRunError("`docker compose up` failed: Bind for 127.0.0.1:8000 failed: port is already allocated")

    monkeypatch.setattr(local_run.daemon, "_run", lambda args, check=True, env=None: subprocess.CompletedProcess(args, 0, "", ""))
    monkeypatch.setattr(local_run.Compose, "building", building)
    monkeypatch.setattr(local_run.Compose, "up", up)
    monkeypatch.setattr("maestro_deploy.operate.upgrade.wait_for", lambda *args: pytest.fail("waited for units Compose did not start"))
    out, state = tmp_path / "out", tmp_path / "state"
    assert cli.main(["compose", "up", "dev", "--out", str(out), "--state", str(state)]) == EXIT_INFRASTRUCTURE
    assert "port is already allocated" in capsys.readouterr().err


def test_a_context_that_cannot_be_filled_is_a_failed_build(tmp_path, monkeypatch):
    (tmp_path / "compose.yaml").write_text("services:\n  api: {image: ref, container_name: c-api, build: {context: ctx}}\n")

    def vendor(context):
        raise local_run.LocalRunError("apt-get download of debian-packages.lock's packages failed: 404")

    monkeypatch.setattr(local_run.compose, "vendor", vendor)
    with pytest.raises(local_run.BuildFailed, match="404"):
        with local_run.Compose("s", tmp_path).building(print):
            pass
