"""Running a Compose export locally: images built once each, with the classic builder, and
reported built or reused; pinned wheels vendored into a build context once per lock."""

import subprocess
import sys

import yaml

from maestro_deploy import local as local_run
from maestro_deploy.local import Compose


class FakeDocker:
    """`docker image inspect` and `docker build`, as far as build_images uses them."""

    def __init__(self, changes: bool):
        self.images: dict[str, str] = {}
        self.builds: list[tuple[list[str], dict]] = []
        self.changes = changes

    def __call__(self, args, check=True, env=None):
        if args[:3] == ["docker", "image", "inspect"]:
            image = args[-1]
            return subprocess.CompletedProcess(args, 0 if image in self.images else 1, self.images.get(image, ""), "")
        assert args[:2] == ["docker", "build"], args
        self.builds.append((args, env))
        image = args[args.index("-t") + 1]
        if self.changes or image not in self.images:
            self.images[image] = f"sha256:{len(self.builds)}"
        return subprocess.CompletedProcess(args, 0, "", "")


def write_compose(directory, context):
    build = {"context": str(context), "args": {"BASE_IMAGE": "maestro-base:bookworm"}}
    services = {
        "engine": {"image": "maestro-reference:dev", "build": build, "container_name": "e"},
        "frontend": {"image": "maestro-reference:dev", "build": build, "container_name": "f"},
        "pulled": {"image": "postgres:16.4", "container_name": "p"},
    }
    (directory / "compose.yaml").write_text(yaml.safe_dump({"services": services}))


def test_each_image_is_built_once_with_the_classic_builder_and_reported(tmp_path, monkeypatch):
    write_compose(tmp_path, tmp_path)
    docker = FakeDocker(changes=False)
    monkeypatch.setattr(local_run, "_run", docker)
    said: list[str] = []
    Compose("s", tmp_path).build_images(said.append)
    assert said == ["image maestro-reference:dev built"]
    ((args, env),) = docker.builds
    assert env["DOCKER_BUILDKIT"] == "0"
    assert args[-3:] == ["--build-arg", "BASE_IMAGE=maestro-base:bookworm", str(tmp_path)]
    Compose("s", tmp_path).build_images(said.append)
    assert said[-1] == "image maestro-reference:dev reused (unchanged)"
    docker.changes = True
    Compose("s", tmp_path).build_images(said.append)
    assert said[-1] == "image maestro-reference:dev built"


def test_pinned_wheels_are_vendored_once_per_lock(tmp_path, monkeypatch):
    installs = []

    def pip(args, capture_output, text):
        installs.append(args)
        target = args[args.index("--target") + 1]
        (tmp_path / "site-packages").mkdir(exist_ok=True)
        assert target == str(tmp_path / "site-packages")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(local_run.subprocess, "run", pip)
    local_run.vendor_wheels(tmp_path)
    assert installs == []  # no lock: the context is built as it is
    (tmp_path / local_run.VENDOR_LOCK).write_text("pg8000==1.31.6 --hash=sha256:00\n")
    local_run.vendor_wheels(tmp_path)
    local_run.vendor_wheels(tmp_path)
    (args,) = installs
    assert args[:3] == [sys.executable, "-m", "pip"]
    assert {"--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(args)
    (tmp_path / local_run.VENDOR_LOCK).write_text("pg8000==1.31.7 --hash=sha256:01\n")
    local_run.vendor_wheels(tmp_path)
    assert len(installs) == 2
