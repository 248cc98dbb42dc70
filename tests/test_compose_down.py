"""`compose down` through Docker 20.10's refusal to remove a network whose containers are all
gone ("has active endpoints", moby/moby#43286): tried again, a stale endpoint disconnected, a
container that is not the stack's never touched, and a count that never catches up said."""

import json
import subprocess

import pytest
import yaml

from maestro_deploy import local as local_run
from maestro_deploy.local import Compose, LocalRunError

REFUSED = "Error response from daemon: error while removing network: network maestro-s id 6142 has active endpoints"


class FakeDocker:
    """Compose's `down` and the `docker network` and `docker ps` calls the removal makes."""

    def __init__(self, refusals: int, attached: dict[str, dict], existing: tuple[str, ...] = (), answers: dict | None = None):
        self.refusals = refusals  # how many removals Docker refuses before it counts no endpoint
        self.attached = dict(attached)
        self.existing = existing
        self.answers = answers or {}  # a command's first words -> (exit code, stdout, stderr), whatever the state
        self.calls: list[list[str]] = []
        self.network = True

    def __call__(self, args, check=True, env=None):
        self.calls.append(args)
        for words, (code, out, err) in self.answers.items():
            if tuple(args[: len(words)]) == words:
                return subprocess.CompletedProcess(args, code, out, err)
        if "down" in args and self.attached:  # Compose (2.18 on) leaves a network it sees in use, with a warning
            return self._done(args, 0, " ! Network maestro-s  Resource is still in use", check)
        if "down" in args or args[:3] == ["docker", "network", "rm"]:
            if self.network and (self.refusals or self.attached):
                self.refusals = max(self.refusals - 1, 0)
                return self._done(args, 1, f"failed to remove network maestro-s: {REFUSED}", check)
            self.network = False
            return self._done(args, 0, "", check)
        if args[:3] == ["docker", "network", "inspect"]:
            if not self.network:
                return self._done(args, 1, "Error response from daemon: network maestro-s not found", check)
            return subprocess.CompletedProcess(args, 0, json.dumps(self.attached) + "\n", "")
        if args[:3] == ["docker", "network", "disconnect"]:
            self.attached = {k: v for k, v in self.attached.items() if v["Name"] != args[-1]}
            return subprocess.CompletedProcess(args, 0, "", "")
        if args[:2] == ["docker", "ps"]:
            return subprocess.CompletedProcess(args, 0, "\n".join(self.existing), "")
        raise AssertionError(args)

    @staticmethod
    def _done(args, code, stderr, check):
        if check and code:
            raise LocalRunError(f"`{' '.join(args)}` failed: {stderr}")
        return subprocess.CompletedProcess(args, code, "", stderr)

    def said(self, *words: str) -> list[list[str]]:
        return [c for c in self.calls if all(w in c for w in words)]


@pytest.fixture
def compose(tmp_path, monkeypatch):
    networks = {"maestro-s": {"name": "maestro-s", "driver": "bridge"}}
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": {}, "networks": networks}))
    monkeypatch.setattr(local_run.network, "RETRY_SECONDS", 0)
    monkeypatch.setattr(local_run.compose, "compose_command", lambda daemon=None: ("docker", "compose"))

    def with_docker(docker: FakeDocker) -> Compose:
        monkeypatch.setattr(local_run.daemon, "_run", docker)
        return Compose("s", tmp_path)

    return with_docker


def test_a_down_docker_does_not_refuse_is_one_compose_call_and_a_look_that_the_network_is_gone(compose):
    docker = FakeDocker(refusals=0, attached={})
    compose(docker).down(delete_data=True)
    assert docker.calls == [
        ["docker", "compose", "-p", "maestro-s", "-f", docker.calls[0][5], "down", "--remove-orphans", "--volumes"],
        ["docker", "network", "inspect", "-f", "{{json .Containers}}", "maestro-s"],
    ]


def test_a_refusal_that_passes_is_tried_again_then_compose_finishes_the_down(compose):
    docker = FakeDocker(refusals=3, attached={})
    compose(docker).down(delete_data=True)
    assert len(docker.said("network", "rm")) == 3  # refused twice more after Compose's own try, then removed
    assert len(docker.said("down", "--volumes")) == 2 and not docker.said("disconnect")
    assert not docker.network


def test_an_endpoint_whose_container_is_gone_is_disconnected_by_the_name_docker_lists(compose):
    stale = {"ep-4f1c": {"Name": "maestro-s-engine", "EndpointID": "4f1c"}}
    docker = FakeDocker(refusals=0, attached=stale, existing=("a1b2",))
    compose(docker).down(delete_data=False)
    assert docker.said("disconnect") == [["docker", "network", "disconnect", "--force", "maestro-s", "maestro-s-engine"]]
    assert not docker.network


def test_a_container_that_is_not_the_stack_s_is_named_and_left_attached_where_compose_only_warns(compose):
    foreign = {"a1b2": {"Name": "someone-elses-debugger", "EndpointID": "77"}}
    docker = FakeDocker(refusals=0, attached=foreign, existing=("a1b2",))
    with pytest.raises(LocalRunError, match="someone-elses-debugger, not part of this stack, is attached") as raised:
        compose(docker).down(delete_data=True)
    assert "docker network disconnect maestro-s someone-elses-debugger" in str(raised.value)
    assert not docker.said("disconnect") and not docker.said("network", "rm") and docker.network


def test_a_count_that_never_catches_up_is_said_with_its_remedy(compose, monkeypatch):
    monkeypatch.setattr(local_run.network, "RELEASED_WITHIN", 0.05)
    docker = FakeDocker(refusals=10**9, attached={})
    with pytest.raises(LocalRunError) as raised:
        compose(docker).down(delete_data=True)
    message = str(raised.value)
    assert "network maestro-s kept" in message and "moby/moby#43286" in message and "Restarting dockerd" in message
    assert len(docker.said("down")) == 1  # nothing more asked of Compose once the network is known to stay


def test_any_other_failure_of_compose_down_is_its_own_error_and_touches_no_network(compose):
    class Broken(FakeDocker):
        def __call__(self, args, check=True, env=None):
            if "down" in args:
                self.calls.append(args)
                return self._done(args, 1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock", check)
            return super().__call__(args, check, env)

    docker = Broken(refusals=0, attached={})
    with pytest.raises(LocalRunError, match="Cannot connect to the Docker daemon"):
        compose(docker).down(delete_data=True)
    assert not docker.said("network")


def test_an_endpoint_docker_will_not_disconnect_is_said_with_docker_s_words(compose, monkeypatch):
    monkeypatch.setattr(local_run.network, "RELEASED_WITHIN", 0.05)
    not_found = "Error response from daemon: endpoint maestro-s-engine not found"
    docker = FakeDocker(refusals=0, attached={"ep-4f1c": {"Name": "maestro-s-engine"}},
                        answers={("docker", "network", "disconnect"): (1, "", not_found)})
    with pytest.raises(LocalRunError, match=f"could not be disconnected: maestro-s-engine: {not_found}"):
        compose(docker).down(delete_data=True)


def test_two_networks_of_one_name_are_said_not_a_traceback(compose):
    docker = FakeDocker(refusals=1, attached={}, answers={("docker", "network", "inspect"): (0, "{}\n{}\n", "")})
    with pytest.raises(LocalRunError, match="more than one network is named maestro-s"):
        compose(docker).down(delete_data=True)
