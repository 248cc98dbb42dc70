"""Running a Compose export locally: images built once each, with the classic builder, and
reported built or reused; pinned wheels vendored into a build context once per lock."""

import json
import subprocess
import sys
import threading

import pytest
import yaml

from maestro_deploy import local as local_run
from maestro_deploy.local import Compose
from maestro_deploy.local.vendoring import once_per_lock


class FakeDocker:
    """`docker image inspect` (an id, a label) and `docker build`, as far as build_images uses them."""

    def __init__(self):
        self.ids = {"maestro-base:bookworm": "sha256:base1"}
        self.labels: dict[str, str] = {}
        self.builds: list[tuple[list[str], dict]] = []

    def __call__(self, args, check=True, env=None):
        if args[:3] == ["docker", "image", "inspect"]:
            image, wanted = args[-1], args[-2]
            if image not in self.ids:
                return subprocess.CompletedProcess(args, 1, "", "No such image")
            return subprocess.CompletedProcess(args, 0, self.labels.get(image, "") if "Labels" in wanted else self.ids[image], "")
        assert args[:2] == ["docker", "build"], args
        self.builds.append((args, env))
        image = args[args.index("-t") + 1]
        self.ids[image] = f"sha256:{len(self.builds)}"
        self.labels[image] = args[args.index("--label") + 1].split("=", 1)[1]
        return subprocess.CompletedProcess(args, 0, "", "")


def write_compose(directory, context, second_context=None):
    build = {"context": str(context), "args": {"BASE_IMAGE": "maestro-base:bookworm"}}
    services = {
        "engine": {"image": "maestro-reference:dev", "build": build, "container_name": "e"},
        "frontend": {"image": "maestro-reference:dev", "build": build, "container_name": "f"},
        "pulled": {"image": "postgres:16.4", "container_name": "p"},
    }
    if second_context:
        services["registry"] = {"image": "maestro-pypiserver:2.3.2", "build": {"context": str(second_context)}, "container_name": "r"}
    (directory / "compose.yaml").write_text(yaml.safe_dump({"services": services}))


def test_each_image_is_built_once_with_the_classic_builder_and_not_again_until_what_it_is_built_from_changes(tmp_path, monkeypatch):
    context, other = tmp_path / "reference", tmp_path / "pypiserver"
    for directory in (context, other):
        directory.mkdir()
        (directory / "Dockerfile").write_text("ARG BASE_IMAGE=maestro-base:bookworm\nFROM ${BASE_IMAGE}\nCOPY app.py /\n")
        (directory / "app.py").write_text("print('v1')\n")
    write_compose(tmp_path, context, other)
    docker = FakeDocker()
    monkeypatch.setattr(local_run.daemon, "_run", docker)
    said: list[str] = []

    def build():
        said.clear()
        Compose("s", tmp_path).build_images(said.append)
        return sorted(said)

    # Each image once, both at once (neither is built from the other).
    assert build() == ["image maestro-pypiserver:2.3.2 built", "image maestro-reference:dev built"]
    args, env = next(b for b in docker.builds if "maestro-reference:dev" in b[0])
    assert env["DOCKER_BUILDKIT"] == "0"
    assert args[-3:] == ["--build-arg", "BASE_IMAGE=maestro-base:bookworm", str(context)]
    assert build() == ["image maestro-pypiserver:2.3.2 reused (unchanged)", "image maestro-reference:dev reused (unchanged)"]
    assert len(docker.builds) == 2  # nothing unchanged is sent to Docker again
    (context / "app.py").write_text("print('v2')\n")
    assert build() == ["image maestro-pypiserver:2.3.2 reused (unchanged)", "image maestro-reference:dev built"]
    docker.ids["maestro-base:bookworm"] = "sha256:base2"  # the base image rebuilt: both start from it
    assert build() == ["image maestro-pypiserver:2.3.2 built", "image maestro-reference:dev built"]
    assert build() == ["image maestro-pypiserver:2.3.2 reused (unchanged)", "image maestro-reference:dev reused (unchanged)"]


def test_pinned_wheels_are_vendored_once_per_lock(tmp_path, monkeypatch):
    installs = []

    def pip(args, capture_output, text):
        installs.append(args)
        target = args[args.index("--target") + 1]
        (tmp_path / "site-packages").mkdir(exist_ok=True)
        assert target == str(tmp_path / "site-packages")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(local_run.images.subprocess, "run", pip)
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


def container(name, status="running", health="healthy", exit_code=0, restart="unless-stopped", product="engine"):
    state = {"Status": status, "ExitCode": exit_code, "StartedAt": "2026-11-29T20:00:00.000000000Z"}
    if health:
        state["Health"] = {"Status": health}
    return {
        "Name": f"/maestro-dev-{name}",
        "State": state,
        "Config": {"Image": "maestro-reference:dev", "Labels": {"maestro.stack": "dev", "maestro.product": product}},
        "HostConfig": {"RestartPolicy": {"Name": restart}},
    }


class FakeEngine:
    """`docker ps` and `docker inspect` of a stack, or a Docker that does not answer."""

    def __init__(self, containers, answers=True):
        self.containers, self.answers = containers, answers

    def __call__(self, args, check=True, env=None):
        if not self.answers:
            raise local_run.LocalRunError("`docker ps` failed: Cannot connect to the Docker daemon")
        if args[:2] == ["docker", "ps"]:
            return subprocess.CompletedProcess(args, 0, "\n".join(c["Name"][1:] for c in self.containers), "")
        assert args[:2] == ["docker", "inspect"]
        return subprocess.CompletedProcess(args, 0, json.dumps(self.containers), "")


@pytest.mark.parametrize(
    "containers,code,said",
    [
        ([container("engine"), container("quality-fabric-runner", "exited", "unhealthy", restart="no", product="quality-fabric")], 0, "dev: all 2 units healthy"),
        ([container("engine", health="unhealthy"), container("frontend", product="frontend")], 1, "dev: not healthy: engine"),
        ([container("engine"), container("quality-fabric-runner", "exited", None, exit_code=1, restart="no")], 1, "dev: not healthy: quality-fabric-runner"),
        ([container("engine", "restarting", "starting")], 1, "dev: not healthy: engine"),
    ],
)
def test_status_says_each_unit_and_exits_by_their_health(monkeypatch, capsys, containers, code, said):
    from maestro_deploy import cli

    monkeypatch.setattr(local_run.daemon, "_run", FakeEngine(containers))
    assert cli.main(["status", "dev"]) == code
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == said
    assert "engine                   " in out and "http://localhost:8000" in out


@pytest.mark.parametrize("engine,message", [(FakeEngine([]), "dev is not running"), (FakeEngine([], answers=False), "Cannot connect to the Docker daemon")])
def test_status_exits_2_when_the_stack_or_docker_is_not_there(monkeypatch, capsys, engine, message):
    from maestro_deploy import cli

    monkeypatch.setattr(local_run.daemon, "_run", engine)
    assert cli.main(["status", "dev"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and "Traceback" not in err


def test_a_context_is_filled_once_per_lock_and_again_after_a_failed_fill(tmp_path):
    fills = []

    def fill(lock, target):
        fills.append(lock.read_text())
        (target / "part").write_text("half")
        if lock.read_text() == "fails\n":
            raise RuntimeError("download failed")

    once_per_lock(tmp_path, "x.lock", "filled", fill)
    assert fills == [] and not (tmp_path / "filled").exists()  # no lock: nothing to fill
    (tmp_path / "x.lock").write_text("fails\n")
    with pytest.raises(RuntimeError):
        once_per_lock(tmp_path, "x.lock", "filled", fill)
    (tmp_path / "x.lock").write_text("v1\n")
    once_per_lock(tmp_path, "x.lock", "filled", fill)
    once_per_lock(tmp_path, "x.lock", "filled", fill)
    assert fills == ["fails\n", "v1\n"]  # the failed fill left no stamp; the good one is kept
    assert (tmp_path / "filled" / "x.lock").read_text() == "v1\n"


def test_a_unit_starts_as_soon_as_what_it_depends_on_passes_its_own_health_check(tmp_path, monkeypatch):
    """Docker 20.10 first probes one interval after a start: the wait runs each unit's own
    check at once, and a dependent is started the moment its dependencies pass it."""
    hc = {"interval": "5s", "timeout": "3s", "retries": 3, "start_period": "60s"}
    services = {
        "db": {"image": "pg", "container_name": "c-db", "healthcheck": {**hc, "test": ["CMD", "pg_isready"]}, "restart": "unless-stopped"},
        "api": {"image": "ref", "container_name": "c-api", "healthcheck": {**hc, "test": ["CMD-SHELL", "probe api"]}, "restart": "unless-stopped"},
        "runner": {"image": "ref", "container_name": "c-runner", "depends_on": {"api": {"condition": "service_healthy"}}, "restart": "no"},
    }
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": services}))
    events: list[str] = []
    created: list[str] = []
    probes = {"c-db": 0, "c-api": 0}

    def docker(args, check=True, env=None):
        if "--no-start" in args:  # created while the others start, in the background
            created.extend(args[args.index("--no-deps") + 1:])
        elif "up" in args:
            events.append("up " + " ".join(args[args.index("--no-deps") + 1:]))
        elif args[:2] == ["docker", "start"]:
            assert created == ["runner"], "started before it was created"
            events.append("start " + " ".join(args[2:]))
        elif args[:2] == ["docker", "inspect"]:
            out = "".join(f"/{c} " + json.dumps({"Status": "running", "Health": {"Status": "starting"}}) + "\n" for c in args[4:])
            return subprocess.CompletedProcess(args, 0, out, "")
        elif args[:2] == ["docker", "exec"]:
            probes[args[2]] += 1
            events.append(f"probe {args[2]}: {' '.join(args[3:])}")
            return subprocess.CompletedProcess(args, 0 if probes[args[2]] >= 2 else 1, "", "")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    monkeypatch.setattr(local_run.compose, "POLL_SECONDS", 0)
    monkeypatch.setattr(local_run.compose, "PROBE_SECONDS", 0)
    compose = Compose("s", tmp_path)
    compose.up()
    assert events == [
        "up api db",
        "probe c-api: /bin/sh -c probe api",
        "probe c-api: /bin/sh -c probe api",  # passes the second time: then, at once, its dependent
        "start c-runner",
    ]
    # Docker still says `starting`: healthy only once its own check, run here, passes.
    assert compose.health_now(["db"]) == {"db": "starting"}
    assert compose.health_now(["db"]) == {"db": "healthy"} and events[-1] == "probe c-db: pg_isready"
    # Each unit's check at most every PROBE_SECONDS: in between, Docker's word stands.
    monkeypatch.setattr(local_run.compose, "PROBE_SECONDS", 60)
    probes["c-db"] = 0
    compose = Compose("s", tmp_path)
    assert compose.health_now(["db"]) == {"db": "starting"} and compose.health_now(["db"]) == {"db": "starting"}
    assert probes["c-db"] == 1


@pytest.mark.parametrize("case", ["cold", "fails", "warm"])
def test_a_unit_starts_as_soon_as_its_own_image_is_built_while_the_others_build(tmp_path, monkeypatch, case):
    """A first `up` does not wait for every image: the database starts (and initialises its
    data) while the image of the units that need it still builds. A failed build ends the
    wait, names the image, and starts nothing that needs it. Images that are there as they
    would be built are known to be before anything starts: one Compose run starts every unit
    whose dependencies allow it."""
    fails = case == "fails"
    contexts = {}
    for image in ("postgres", "reference"):
        contexts[image] = tmp_path / image
        contexts[image].mkdir()
        (contexts[image] / "Dockerfile").write_text("ARG BASE_IMAGE=maestro-base:bookworm\nFROM ${BASE_IMAGE}\n")
    hc = {"interval": "5s", "timeout": "3s", "retries": 3, "test": ["CMD", "pg_isready"]}
    services = {
        "db": {"image": "maestro-postgres:15", "build": {"context": str(contexts["postgres"])}, "container_name": "c-db", "healthcheck": hc},
        "api": {
            "image": "maestro-reference:dev",
            "build": {"context": str(contexts["reference"])},
            "container_name": "c-api",
            "depends_on": {"db": {"condition": "service_healthy"}},
        },
        "ui": {"image": "maestro-reference:dev", "build": {"context": str(contexts["reference"])}, "container_name": "c-ui"},
    }
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": services}))
    images = FakeDocker()
    db_started = threading.Event()
    events: list[str] = []

    def docker(args, check=True, env=None):
        if args[:2] == ["docker", "build"] and "maestro-reference:dev" in args:
            assert db_started.wait(10), "the database waited for an image it does not use"
            if fails:
                notice = "DEPRECATED: The legacy builder is deprecated\n            BuildKit is currently disabled\n\n"
                return subprocess.CompletedProcess(args, 1, "", notice + "Step 3/4 : RUN make\nno space left on device\n")
        if args[:3] == ["docker", "image", "inspect"] or args[:2] == ["docker", "build"]:
            built = images(args, check, env)
            if args[1] == "build":
                events.append(f"built {args[args.index('-t') + 1]}")
            return built
        if args[:2] == ["docker", "inspect"]:
            out = "".join(f"/{c} " + json.dumps({"Status": "running", "Health": {"Status": "healthy"}}) + "\n" for c in args[4:])
            return subprocess.CompletedProcess(args, 0, out, "")
        if "up" in args and "--no-start" not in args:
            events.append("up " + " ".join(args[args.index("--no-deps") + 1:]))
            db_started.set()
        if args[:2] == ["docker", "start"]:
            events.append("start " + " ".join(args[2:]))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    monkeypatch.setattr(local_run.compose, "POLL_SECONDS", 0)
    compose = Compose("s", tmp_path)
    said: list[str] = []
    if case == "warm":
        db_started.set()
        compose.build_images(said.append)  # both built once: then there, as they would be built
        events.clear()
        said.clear()
        with compose.building(said.append) as building:
            assert building == {}
            compose.up(building)
        assert events == ["up db ui", "start c-api"]
        assert sorted(said) == ["image maestro-postgres:15 reused (unchanged)", "image maestro-reference:dev reused (unchanged)"]
        return
    if fails:
        with pytest.raises(local_run.BuildFailed) as failed:
            with compose.building(said.append) as building:
                compose.up(building)
        # Its own words, without the classic builder's deprecation notice.
        assert str(failed.value) == f"image maestro-reference:dev did not build (docker build {contexts['reference']}):\nStep 3/4 : RUN make\nno space left on device"
        assert events == ["built maestro-postgres:15", "up db"]
        return
    with compose.building(said.append) as building:
        compose.up(building)
    assert events[:3] == ["built maestro-postgres:15", "up db", "built maestro-reference:dev"]
    # Then both units of the reference image: together, or the one with no dependency first
    # when its image was there before the database was seen healthy.
    assert events[3:] in (["up api ui"], ["up ui", "up api"])
    assert said == ["image maestro-postgres:15 built", "image maestro-reference:dev built"]


@pytest.mark.parametrize("passes, code, said", [(True, 0, "dev: all 1 units healthy"), (False, 1, "dev: not healthy: engine")])
def test_status_runs_the_check_of_a_unit_docker_has_not_probed_yet(monkeypatch, capsys, passes, code, said):
    from maestro_deploy import cli

    starting = container("engine", health="starting")
    starting["Config"]["Healthcheck"] = {"Test": ["CMD-SHELL", "probe engine"]}
    engine = FakeEngine([starting])
    ran = []

    def docker(args, check=True, env=None):
        if args[:2] == ["docker", "exec"]:
            ran.append(args[2:])
            return subprocess.CompletedProcess(args, 0 if passes else 1, "", "")
        return engine(args, check, env)

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    assert cli.main(["status", "dev"]) == code
    assert capsys.readouterr().out.splitlines()[-1] == said
    assert ran == [["maestro-dev-engine", "/bin/sh", "-c", "probe engine"]]


def test_an_http_health_check_is_asked_from_here_on_the_published_port_or_the_container_address():
    from maestro_deploy.local.probe import http_check, reachable_at

    rendered = ["CMD-SHELL", "python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=3)\" || wget -q -O /dev/null http://127.0.0.1:8000/health"]
    assert http_check(rendered) == (8000, "/health")
    assert http_check(["CMD", "python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9090/-/ready', timeout=3)"]) == (9090, "/-/ready")
    # Not a GET of one loopback URL: run in the container, as Docker would.
    assert http_check(["CMD", "pg_isready", "-U", "maestro"]) is None
    assert http_check(["CMD", "python3", "/opt/reference/app.py", "healthcheck"]) is None
    assert http_check(["CMD-SHELL", "wget -q http://127.0.0.1:1/a && wget -q http://127.0.0.1:2/b"]) is None
    assert reachable_at({"ports": ["127.0.0.1:18000:8000"]}, 8000, "172.18.0.5") == "127.0.0.1:18000"
    assert reachable_at({"ports": ["127.0.0.1:18000:8000"]}, 8080, "172.18.0.5") == "172.18.0.5:8080"
    assert reachable_at({}, 8080, "") is None


def test_an_http_probe_passes_below_400_fails_from_400_or_refused_and_cannot_say_when_unreachable(monkeypatch):
    import http.server
    import socket
    import threading

    from maestro_deploy.local import probe
    from maestro_deploy.local.probe import http_answer, http_passes

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()
            self.wfile.write(b'{"status": "degraded",\n  "database": "refused"}' if self.path != "/health" else b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    where = f"127.0.0.1:{server.server_address[1]}"
    try:
        assert http_passes(where, "/health") is True
        assert http_passes(where, "/degraded") is False  # the engine's 503 with its database away
        # Why, for an error: the status and the body on one line.
        assert http_answer(where, "/degraded") == '503: {"status": "degraded", "database": "refused"}'
        assert http_answer(where, "/health") == "200: ok"
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        assert http_passes(f"127.0.0.1:{port}", "/health") is False  # nothing listens yet
        free.listen()  # it takes the connection and does not answer in time: not ready yet
        monkeypatch.setattr(probe, "TIMEOUT_SECONDS", 0.2)
        assert http_passes(f"127.0.0.1:{port}", "/health") is False
    # Not reached at all (no route to its address, or no connection in time): asked in the container.
    for unreachable in (OSError(113, "No route to host"), TimeoutError("timed out")):
        monkeypatch.setattr(probe.urllib.request, "urlopen", lambda *a, err=unreachable, **k: (_ for _ in ()).throw(probe.urllib.error.URLError(err)))
        assert http_passes("172.18.0.9:8080", "/health") is None


def test_a_starting_unit_with_an_http_check_is_probed_over_http_and_not_with_docker_exec(tmp_path, monkeypatch):
    hc = {"interval": "5s", "timeout": "3s", "retries": 3, "start_period": "60s"}
    get = ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8000/health"]
    services = {
        "api": {"image": "ref", "container_name": "c-api", "ports": ["127.0.0.1:18000:8000"], "healthcheck": {**hc, "test": get}},
        "hive": {"image": "ref", "container_name": "c-hive", "healthcheck": {**hc, "test": get}},
        "db": {"image": "pg", "container_name": "c-db", "healthcheck": {**hc, "test": ["CMD", "pg_isready"]}},
    }
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": services}))
    ran, asked = [], []

    def docker(args, check=True, env=None):
        if args[:2] == ["docker", "exec"]:
            ran.append(args[2])
            return subprocess.CompletedProcess(args, 0, "", "")
        networks = lambda c: json.dumps({"maestro-s": {"IPAddress": "172.18.0.9" if c == "c-hive" else "172.18.0.2"}})
        out = "".join(f"/{c} " + json.dumps({"Status": "running", "Health": {"Status": "starting"}}) + f" {networks(c)}\n" for c in args[4:])
        return subprocess.CompletedProcess(args, 0, out, "")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    monkeypatch.setattr(local_run.compose, "http_passes", lambda where, path: asked.append(where + path) or where.startswith("127."))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert Compose("s", tmp_path).health_now(["api", "hive", "db"]) == {"api": "healthy", "hive": "starting", "db": "healthy"}
    assert sorted(asked) == ["127.0.0.1:18000/health", "172.18.0.9:8000/health"] and ran == ["c-db"]
    # On a daemon elsewhere, neither its published ports nor its addresses are this machine's.
    asked.clear(), ran.clear()
    monkeypatch.setenv("DOCKER_HOST", "ssh://build-host")
    assert Compose("s", tmp_path).health_now(["api", "hive", "db"]) == {"api": "healthy", "hive": "healthy", "db": "healthy"}
    assert asked == [] and sorted(ran) == ["c-api", "c-db", "c-hive"]


@pytest.mark.parametrize("health, said", [
    ({"Status": "unhealthy", "Log": [{"Output": "old"}, {"Output": "Traceback ...\n  File x\nurllib.error.HTTPError: HTTP Error 503\n\n"}]},
     "urllib.error.HTTPError: HTTP Error 503"),
    ({"Status": "unhealthy", "Log": [{"Output": "x" * 1000}]}, "x" * 297 + "..."),
    (None, ""),  # no health check
])
def test_what_a_health_check_printed_last_is_its_last_line_short(monkeypatch, health, said):
    def docker(args, check=True, env=None):
        assert args[:4] == ["docker", "inspect", "-f", "{{json .State.Health}}"], args
        return subprocess.CompletedProcess(args, 0, json.dumps(health) + "\n", "")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    assert local_run.status.last_check_output(local_run.Daemon(), "c") == said


def test_an_unhealthy_unit_is_said_in_its_own_words_its_http_answer_first(tmp_path, monkeypatch):
    import http.server
    import threading

    class Engine(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b'{"status": "degraded", "database": "refused: password authentication failed"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    probe = "python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=3)\""
    services = {
        "engine": {"container_name": "c-engine", "ports": [f"127.0.0.1:{server.server_address[1]}:8000"],
                   "healthcheck": {"test": ["CMD-SHELL", probe]}},
        "engine-db": {"container_name": "c-db", "healthcheck": {"test": ["CMD", "pg_isready"]}},
    }
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": services}))

    def docker(args, check=True, env=None):
        if "{{json .State.Health}}" in args:
            return subprocess.CompletedProcess(args, 0, json.dumps({"Log": [{"Output": "no response\n"}]}), "")
        out = "".join(f"/{c} " + json.dumps({"Status": "running", "Health": {"Status": "unhealthy"}}) + " {}\n" for c in args[4:])
        return subprocess.CompletedProcess(args, 0, out, "")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    compose = Compose("s", tmp_path)
    try:
        assert compose.health_said("engine") == 'GET /health answered 503: {"status": "degraded", "database": "refused: password authentication failed"}'
    finally:
        server.shutdown()
        server.server_close()
    assert compose.health_said("engine-db") == "its health check said: no response"  # not an HTTP check: Docker's log


def test_up_names_a_dependency_that_turned_unhealthy_with_what_its_check_said(tmp_path, monkeypatch):
    services = {
        "api": {"image": "ref", "container_name": "c-api", "healthcheck": {"test": ["CMD-SHELL", "probe api"]}, "restart": "unless-stopped"},
        "runner": {"image": "ref", "container_name": "c-runner", "depends_on": {"api": {"condition": "service_healthy"}}, "restart": "no"},
    }
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": services}))

    def docker(args, check=True, env=None):
        if "{{json .State.Health}}" in args:
            return subprocess.CompletedProcess(args, 0, json.dumps({"Log": [{"Output": "api: database refused\n"}]}), "")
        if args[:2] == ["docker", "inspect"]:
            out = "".join(f"/{c} " + json.dumps({"Status": "running", "Health": {"Status": "unhealthy"}}) + "\n" for c in args[4:])
            return subprocess.CompletedProcess(args, 0, out, "")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    with pytest.raises(local_run.LocalRunError, match=r"runner not started: not healthy: c-api \(unhealthy; its health check said: api: database refused\)"):
        Compose("s", tmp_path).up()


def test_containers_that_are_not_there_are_missing(monkeypatch):
    """`docker inspect -f` prints an empty line when it finds none of the names (and fails)."""

    def docker(args, check=True, env=None):
        return subprocess.CompletedProcess(args, 1, "\n", "Error: No such object: c-api")

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    assert local_run.compose.container_facts(local_run.Daemon(), ["c-api"]) == {"c-api": ("missing", "")}


def test_services_that_wait_for_one_another_are_said_not_waited_for_forever(tmp_path, monkeypatch):
    services = {
        "a": {"image": "ref", "container_name": "c-a", "depends_on": {"b": {"condition": "service_healthy"}}},
        "b": {"image": "ref", "container_name": "c-b", "depends_on": {"a": {"condition": "service_healthy"}}},
    }
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": services}))
    monkeypatch.setattr(local_run.daemon, "_run", lambda args, check=True, env=None: subprocess.CompletedProcess(args, 0, "", ""))
    said: list[str] = []

    def up():
        try:
            Compose("s", tmp_path).up()
        except local_run.LocalRunError as err:
            said.append(str(err))

    waiting = threading.Thread(target=up, daemon=True)  # a loop that never ends fails the test, not the run
    waiting.start()
    waiting.join(10)
    assert said == ["a, b not started: each waits for a service that never starts"]


@pytest.mark.parametrize(
    "printed, said",
    [
        ("DEPRECATED: The legacy builder\n  BuildKit is disabled\n\nStep 3/4 : RUN make\n\nexit 3\n", "Step 3/4 : RUN make\nexit 3"),
        ("DEPRECATED: no blank line after it\nexit 3", "DEPRECATED: no blank line after it\nexit 3"),
        ("x" * 1500 + "\n" + "password=s3cr3t-" + "y" * 900 + "\nexit 3", "password=s3cr3t-" + "y" * 900 + "\nexit 3"),
        ("z" * 2500, "z" * 2500),
    ],
)
def test_what_a_failed_build_said_is_its_last_whole_lines(printed, said):
    """At most SAID_AT_MOST_CHARS, in whole lines: a secret on a line is never cut, so redaction,
    which matches whole values, still finds it."""
    assert local_run.compose._build_said(printed) == said


def test_a_failed_command_is_quoted_in_whole_lines():
    """Every failure quoted from what a command printed (a build, pip, apt, `docker exec`) ends in
    whole lines: cut in the middle, a secret's tail would no longer match the redaction set."""
    secret_line = "password=s3cr3t-" + "y" * 900
    script = f"import sys; sys.stderr.write('x' * 1500 + '\\n' + {secret_line!r} + '\\nexit 3\\n'); sys.exit(3)"
    with pytest.raises(local_run.LocalRunError) as failed:
        local_run.daemon._run_bytes([sys.executable, "-c", script], None, {})
    assert str(failed.value).endswith(f"failed: {secret_line}\nexit 3")


def two_built_services(directory):
    """A compose.yaml of two services, each built from its own context: context name -> path."""
    contexts = {name: directory / name for name in ("postgres", "pypiserver")}
    services = {}
    for name, context in contexts.items():
        context.mkdir()
        (context / "Dockerfile").write_text("FROM maestro-base:bookworm\n")
        services[name] = {"image": f"maestro-{name}:1", "build": {"context": str(context)}, "container_name": name}
    (directory / "compose.yaml").write_text(yaml.safe_dump({"services": services}))
    return contexts


def test_an_image_build_starts_before_the_other_contexts_are_known(tmp_path, monkeypatch):
    """Hashing a context (and filling it from its locks) takes a while for a big one: the build of
    an image whose context is known does not wait for it. The block still starts only once every
    image is known to be reused or building."""
    contexts = two_built_services(tmp_path)
    images = FakeDocker()
    database_building = threading.Event()

    def docker(args, check=True, env=None):
        if args[:2] == ["docker", "build"] and "maestro-postgres:1" in args:
            database_building.set()
        return images(args, check, env)

    def vendor(context):
        if context == contexts["pypiserver"]:
            assert database_building.wait(10), "the database's build waited for another image's context"

    monkeypatch.setattr(local_run.daemon, "_run", docker)
    monkeypatch.setattr(local_run.compose, "vendor", vendor)
    said: list[str] = []
    with Compose("s", tmp_path).building(said.append) as building:
        assert sorted(building) == ["maestro-postgres:1", "maestro-pypiserver:1"]
    assert sorted(said) == ["image maestro-postgres:1 built", "image maestro-pypiserver:1 built"]


def test_a_context_that_cannot_be_filled_starts_no_build_not_started_yet(tmp_path, monkeypatch):
    """The failure is said as soon as the builds already running end: none is started after it."""
    contexts = two_built_services(tmp_path)
    images = FakeDocker()
    stopped = threading.Event()

    class Watched(threading.Event):
        def set(self):
            super().set()
            stopped.set()

    def vendor(context):
        if context == contexts["postgres"]:
            raise local_run.LocalRunError("apt-get download of debian-packages.lock's packages failed: 404")
        assert stopped.wait(10), "the failure did not stop the other builds"

    monkeypatch.setattr(local_run.daemon, "_run", images)
    monkeypatch.setattr(local_run.compose, "vendor", vendor)
    monkeypatch.setattr(local_run.compose, "Event", Watched)
    with pytest.raises(local_run.BuildFailed, match="404"):
        with Compose("s", tmp_path).building(print):
            pass
    assert images.builds == []
