"""Ephemeral runs through the driver interface, with faults injected at every step:
teardown on every path, the exit codes, unique names under concurrency, the reaper."""

import json
import os
import re
import signal
import threading
import types

import pytest
from harness import render_env

from maestro_deploy import cli, ephemeral
from maestro_deploy.ephemeral.drivers import JUNIT_BEGIN, JUNIT_END, PulumiDriver, junit_from_log
from maestro_deploy.ephemeral import DriverError, EphemeralStack
from maestro_deploy.config.errors import ConfigError
from maestro_deploy.offline.compose import compose_export

PASSING = '<testsuites tests="2" failures="0"><testsuite name="unit"><testcase classname="unit" name="a"/><testcase classname="unit" name="b"/></testsuite></testsuites>'
FAILING = '<testsuites><testsuite name="unit"><testcase classname="unit" name="a"><failure message="answered 200"/></testcase></testsuite></testsuites>'
CONFIG = {"maestro:platform": "docker", "maestro:components": {"engine": {}, "quality-fabric": {"test_suites": ["unit"]}}}


class FakeDriver:
    """Records every call; `fail` maps a step to the exception (or signal) it meets."""

    name = "fake"

    def __init__(self, junit=PASSING, fail=None, destroy_failures=0):
        self.junit, self.fail = junit, fail or {}
        self.calls, self.live, self.deployed = [], {}, {}
        self.destroy_failures = destroy_failures

    def _step(self, step, stack):
        self.calls.append((step, stack))
        fault = self.fail.get(step)
        if isinstance(fault, signal.Signals):
            os.kill(os.getpid(), fault)
        elif fault is not None:
            raise fault

    def deploy(self, stack, config):
        self.deployed[stack] = config
        self.live[stack] = config  # half-deployed is still deployed: teardown must find it
        self._step("deploy", stack)

    def wait_healthy(self, stack):
        self._step("wait_healthy", stack)

    def run_tests(self, stack):
        self._step("run_tests", stack)
        return self.junit

    def destroy(self, stack):
        self.calls.append(("destroy", stack))
        if self.destroy_failures:
            self.destroy_failures -= 1
            raise DriverError("daemon busy")
        self.live.pop(stack, None)

    def list(self):
        return [EphemeralStack(n, c["maestro:ephemeral"]["owner"], c["maestro:ephemeral"]["created"], c["maestro:ephemeral"]["expires"]) for n, c in self.live.items()]


def run(driver, tmp_path, **kw):
    lines = []
    code = ephemeral.run(driver, CONFIG, "engine", "alice", 3600, tmp_path / "results", clock=lambda: 1_000_000, say=lines.append, **kw)
    return code, lines


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(ephemeral.runner.time, "sleep", lambda s: None)


def test_passing_suites_exit_0_write_results_and_leave_nothing(tmp_path):
    driver = FakeDriver()
    code, lines = run(driver, tmp_path)
    assert code == 0
    assert (tmp_path / "results" / "junit.xml").read_text() == PASSING
    assert [step for step, _ in driver.calls] == ["deploy", "wait_healthy", "run_tests", "destroy"]
    assert driver.live == {}
    assert any("2 passed, 0 failed" in line for line in lines)


def test_a_failing_test_exits_1_and_still_tears_down(tmp_path):
    driver = FakeDriver(junit=FAILING)
    code, lines = run(driver, tmp_path)
    assert code == 1 and driver.live == {}
    assert "  FAIL unit.a: answered 200" in lines


@pytest.mark.parametrize("step", ["deploy", "wait_healthy", "run_tests"])
def test_an_infrastructure_failure_at_any_step_exits_2_and_tears_down(tmp_path, step):
    driver = FakeDriver(fail={step: DriverError(f"{step} broke")})
    code, lines = run(driver, tmp_path)
    assert code == 2 and driver.live == {}
    assert driver.calls[-1][0] == "destroy"
    assert any(f"{step} broke" in line for line in lines)
    assert not (tmp_path / "results" / "junit.xml").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("step", ["deploy", "wait_healthy", "run_tests"])
def test_a_signal_at_any_step_exits_as_shells_report_it_and_tears_down(tmp_path, signum, step):
    # The handlers the run found (a shell starts a background job with SIGINT ignored).
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    driver = FakeDriver(fail={step: signum})
    code, lines = run(driver, tmp_path)
    assert code == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum] and driver.live == {}
    assert any(f"interrupted by {signum.name}" in line for line in lines)
    assert {s: signal.getsignal(s) for s in before} == before, "handlers are restored"


def test_a_signal_during_teardown_does_not_stop_it(tmp_path):
    driver = FakeDriver(fail={"deploy": signal.SIGINT})
    original = driver.destroy

    def destroy_while_interrupted(stack):
        os.kill(os.getpid(), signal.SIGTERM)
        original(stack)

    driver.destroy = destroy_while_interrupted
    code, _ = run(driver, tmp_path)
    assert code == 130 and driver.live == {}


def test_a_garbled_report_is_an_infrastructure_failure(tmp_path):
    driver = FakeDriver(junit="<testsuites")
    code, _ = run(driver, tmp_path)
    assert code == 2 and driver.live == {}


def test_an_empty_report_is_not_a_pass(tmp_path):
    code, _ = run(FakeDriver(junit="<testsuites/>"), tmp_path)
    assert code == 1


def test_teardown_retries_then_reports_what_is_left(tmp_path):
    flaky = FakeDriver(destroy_failures=2)
    assert run(flaky, tmp_path)[0] == 0 and flaky.live == {}
    stuck = FakeDriver(destroy_failures=99)
    code, lines = run(stuck, tmp_path)
    assert code == 2 and len(stuck.live) == 1
    assert "ephemeral reap" in lines[-1]


def test_the_stack_is_tagged_with_owner_creation_and_expiry(tmp_path):
    driver = FakeDriver()
    seen = {}
    driver.deploy = lambda stack, config: seen.update(config["maestro:ephemeral"])
    run(driver, tmp_path)
    assert seen == {"owner": "alice", "created": 1_000_000, "expires": 1_003_600}


def test_names_are_unique_and_safe_under_concurrency():
    taken = set()
    lock = threading.Lock()
    collisions = iter(["aaaaaa"] * 3 + [f"{i:06x}" for i in range(1, 200)])
    token_lock = threading.Lock()

    def token():
        with token_lock:
            return next(collisions)

    names = []

    def start():
        with lock:
            name = ephemeral.unique_name("Candidate Engine 1.3!", lambda: set(taken), token)
            taken.add(name)
            names.append(name)

    threads = [threading.Thread(target=start) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 40
    for name in names:
        assert re.fullmatch(r"qf-candidate-engine-1-3-[0-9a-f]{6}", name), name


def test_a_name_never_repeats_one_that_exists():
    """24 random bits make two runs started at once unlikely to draw the same name; the
    check against existing stacks makes a repeat impossible."""
    names: set[str] = set()
    for _ in range(2000):
        names.add(ephemeral.unique_name("x", lambda: set(names)))
    assert len(names) == 2000


def test_the_reaper_destroys_only_expired_stacks():
    driver = FakeDriver()
    driver.live = {
        "qf-old-aaaaaa": {"maestro:ephemeral": {"owner": "a", "created": 0, "expires": 100}},
        "qf-new-bbbbbb": {"maestro:ephemeral": {"owner": "b", "created": 50, "expires": 10_000}},
    }
    lines = []
    assert ephemeral.reap(driver, dry_run=True, clock=lambda: 500, say=lines.append) == 0
    assert set(driver.live) == {"qf-old-aaaaaa", "qf-new-bbbbbb"}
    assert lines == ["would destroy qf-old-aaaaaa (owner a, expired 6m40s ago)"]
    assert ephemeral.reap(driver, dry_run=False, clock=lambda: 500, say=lines.append) == 0
    assert set(driver.live) == {"qf-new-bbbbbb"}


def test_the_reaper_goes_on_past_a_stack_it_cannot_remove():
    driver = FakeDriver(destroy_failures=1)
    driver.live = {n: {"maestro:ephemeral": {"owner": "a", "created": 0, "expires": 1}} for n in ("qf-a-000001", "qf-b-000002")}
    assert ephemeral.reap(driver, dry_run=False, clock=lambda: 10, say=lambda _: None) == 2
    assert list(driver.live) == ["qf-a-000001"]


def test_list_shows_age_and_expiry():
    driver = FakeDriver()
    driver.live = {"qf-x-000001": {"maestro:ephemeral": {"owner": "bob", "created": 0, "expires": 7200}}}
    assert ephemeral.listing(driver, clock=lambda: 1800) == ["qf-x-000001\towner bob\tage 30m00s\texpires in 1h30m"]
    assert ephemeral.listing(driver, clock=lambda: 25) == ["qf-x-000001\towner bob\tage 25s\texpires in 1h59m"]


def test_destroy_removes_one_ephemeral_stack_before_it_expires_and_nothing_else(capsys):
    driver = FakeDriver()
    driver.live = {
        "qf-x-000001": {"maestro:ephemeral": {"owner": "bob", "created": 0, "expires": 7200}},
        "qf-y-000002": {"maestro:ephemeral": {"owner": "ann", "created": 0, "expires": 7200}},
    }
    said = []
    assert ephemeral.destroy(driver, "qf-x-000001", say=said.append) == 0
    assert set(driver.live) == {"qf-y-000002"} and said == ["destroyed qf-x-000001"]
    with pytest.raises(ephemeral.ConfigError, match="no ephemeral stack named 'staging'"):
        ephemeral.destroy(driver, "staging")
    assert set(driver.live) == {"qf-y-000002"}


@pytest.mark.parametrize("text", ["2", "0h", "-1h", "two hours"])
def test_a_bad_ttl_is_named(text):
    with pytest.raises(ephemeral.ConfigError, match="--ttl: expected a duration"):
        ephemeral.parse_ttl(text)


@pytest.mark.parametrize("platform", ["kubernetes", "docker"])
def test_ephemeral_stacks_protect_nothing_and_carry_their_labels(platform):
    base = {"maestro:kubernetes": {"namespace": "qf-x"}} if platform == "kubernetes" else {"maestro:platform": "docker"}
    config = {**base, "maestro:components": {"engine": {}, "registry": {}}}
    kept = render_env(config)
    thrown = render_env({**config, "maestro:ephemeral": {"owner": "alice", "created": 1, "expires": 2}})
    volumes = ("kubernetes:core/v1:PersistentVolumeClaim", "docker:index/volume:Volume")
    assert all(r.protect and r.retain_on_delete for r in kept.run.registered if r.type in volumes)
    data = [r for r in thrown.run.registered if r.type in volumes]
    assert data and not any(r.protect or r.retain_on_delete for r in data)
    labelled = [r for r in thrown.run.registered if r.type in ("kubernetes:core/v1:Namespace", "docker:index/network:Network")]
    assert "maestro.dev/expires" in str(labelled[0].inputs)


def test_a_throwaway_docker_stack_keeps_its_data_in_memory_and_a_kept_one_on_disk():
    config = {"maestro:platform": "docker", "maestro:components": {"engine": {}, "frontend": {}, "registry": {}, "quality-fabric": {}}}
    thrown = {**config, "maestro:ephemeral": {"owner": "alice", "created": 1, "expires": 2}}
    volume = "docker:index/volume:Volume"
    kept = [r for r in render_env(config).run.registered if r.type == volume]
    assert kept and not any("driverOpts" in r.inputs for r in kept)
    data = {r.inputs["name"]: r.inputs.get("driverOpts") for r in render_env(thrown).run.registered if r.type == volume}
    assert {n for n, opts in data.items() if opts == {"type": "tmpfs", "device": "tmpfs"}} == {n for n in data if "-data-" in n}
    # The runner's reports outlive its container (read after it exits): on disk, like any kept volume.
    assert [n for n in data if n.endswith("-reports")] and all(data[n] is None for n in data if n.endswith("-reports"))
    # The Compose export, which the Docker driver runs, says the same.
    exported = compose_export(render_env(thrown).run).compose["volumes"]
    assert {n for n, v in exported.items() if v.get("driver_opts") == {"type": "tmpfs", "device": "tmpfs"}} == {n for n in data if "-data-" in n}

# --- the CLI and the two real drivers ---

def test_a_config_mistake_creates_no_stack(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "make_driver", lambda args, docker_host=None: pytest.fail("a driver was made"))
    assert cli.main(["ephemeral", "run", "--deploy", "engine", "--suites", "e2e", "--results", str(tmp_path)]) == 2
    assert "maestro:components.quality-fabric.target.frontend_url: required by the e2e suite" in capsys.readouterr().err
    assert cli.main(["ephemeral", "run", "--deploy", "engnie", "--results", str(tmp_path)]) == 2
    assert "--deploy: unknown product 'engnie'" in capsys.readouterr().err


def test_the_cli_runs_the_composed_stack_on_the_driver(tmp_path, monkeypatch):
    driver = FakeDriver()
    monkeypatch.setattr(cli, "make_driver", lambda args, docker_host=None: driver)
    argv = ["ephemeral", "run", "--from", "dev", "--deploy", "engine@1.2.3", "--deploy", "frontend", "--suites", "unit,e2e", "--results", str(tmp_path), "--owner", "ci"]
    assert cli.main(argv) == 0
    ((_, name), *_) = driver.calls
    assert re.fullmatch(r"qf-engine-frontend-[0-9a-f]{6}", name)
    assert driver.calls[-1] == ("destroy", name)


@pytest.fixture
def pulumi_home(tmp_path, monkeypatch):
    """The driver's .pulumi-state/ in a directory of the test's, with no passphrase given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return tmp_path


def test_without_the_pulumi_cli_the_pulumi_driver_says_so_and_leaves_no_temporary_directory(capsys, pulumi_home, monkeypatch):
    """The real Automation API: a LocalWorkspace without a work_dir makes a /tmp/automation-*
    and keeps it when the CLI is missing; every temporary directory here goes into one of the test's."""
    import tempfile

    temporary = pulumi_home / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    for _ in range(2):
        assert cli.main(["ephemeral", "list", "--driver", "pulumi"]) == 2
        err = capsys.readouterr().err
        assert "the Pulumi CLI is not installed" in err and "--driver docker" in err and "Traceback" not in err
    assert list(temporary.iterdir()) == []


class FakeAuto:
    """A stand-in for `pulumi.automation`, recording what the driver asks of it."""

    def __init__(self, tags=None):
        self.log, self.tags = [], tags or {}
        auto = self

        class Stack:
            def __init__(self, name):
                self.name = name
                self.workspace = types.SimpleNamespace(remove_stack=lambda n: auto.log.append(("remove_stack", n)))

            def set_all_config(self, values):
                auto.log.append(("config", {k: v.value for k, v in values.items()}))

            def set_tag(self, key, value):
                auto.log.append(("tag", key, value))

            def up(self, on_output):
                auto.log.append(("up", self.name, os.path.isdir(auto.options[-1].work_dir)))

            def destroy(self, on_output):
                auto.log.append(("destroy", self.name))

        def create_or_select_stack(stack_name, project_name, program, opts):
            auto.options.append(opts)
            return Stack(stack_name)

        self.options = []
        self.create_or_select_stack = create_or_select_stack
        self.ConfigValue = lambda value: types.SimpleNamespace(value=value)
        self.LocalWorkspaceOptions = lambda **kw: types.SimpleNamespace(**kw)
        self.ProjectSettings = lambda **kw: kw
        self.ProjectBackend = lambda url: {"url": url}
        self.LocalWorkspace = lambda **kw: types.SimpleNamespace(
            list_stacks=lambda: [types.SimpleNamespace(name=n) for n in list(auto.tags) + ["staging"]],
            list_tags=lambda n: auto.tags[n],
        )


def test_the_pulumi_driver_deploys_tags_and_removes_through_the_automation_api(tmp_path, pulumi_home):
    auto = FakeAuto()
    log = f"noise\n{JUNIT_BEGIN}\n{PASSING}\n{JUNIT_END}\n"
    driver = PulumiDriver(f"file://{tmp_path}/state", auto=auto, logs=lambda stack, config: log)
    code = ephemeral.run(driver, {"maestro:components": {"engine": {}}}, "engine", "alice", 60, tmp_path / "r", clock=lambda: 10, say=lambda _: None)
    assert code == 0
    kubernetes = json.loads(auto.log[0][1]["maestro:kubernetes"])
    assert kubernetes == {"namespace": auto.log[-2][1]}, "a namespace of its own, named as the stack"
    assert ("tag", "maestro:owner", "alice") in auto.log and ("tag", "maestro:expires", "70") in auto.log
    assert [entry[0] for entry in auto.log if entry[0] in ("up", "destroy", "remove_stack")] == ["up", "destroy", "remove_stack"]
    assert ("up", auto.log[-2][1], True) in auto.log, "`pulumi up` runs in the workspace's own directory"
    work_dirs = {options.work_dir for options in auto.options}
    assert len(work_dirs) == 2 and not any(os.path.exists(d) for d in work_dirs), "each removed after its operation"


def test_the_pulumi_driver_encrypts_with_a_generated_owner_only_passphrase_never_an_empty_one(pulumi_home, monkeypatch, capsys):
    """As scripts/pulumi-env: generated once into .pulumi-state/passphrase (0600), kept after."""
    auto = FakeAuto()
    driver = PulumiDriver(auto=auto)
    driver.destroy("qf-a-000001")
    passphrase = pulumi_home / ".pulumi-state" / "passphrase"
    assert auto.options[-1].env_vars == {"PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase)}
    generated = passphrase.read_text()
    assert len(generated.strip()) == 44 and passphrase.stat().st_mode & 0o777 == 0o600
    assert "generated the stacks' passphrase" in capsys.readouterr().err
    passphrase.chmod(0o644)
    driver.destroy("qf-a-000001")
    assert passphrase.read_text() == generated and passphrase.stat().st_mode & 0o777 == 0o600
    assert "generated" not in capsys.readouterr().err
    # The caller's own passphrase, or its file, is the CLI's as it stands; an empty one is refused.
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/run/secrets/pulumi")
    driver.destroy("qf-a-000001")
    assert auto.options[-1].env_vars == {}
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    with pytest.raises(ConfigError, match="PULUMI_CONFIG_PASSPHRASE: is set but empty"):
        driver.destroy("qf-a-000001")


def test_the_pulumi_driver_lists_only_tagged_ephemeral_stacks(pulumi_home):
    auto = FakeAuto(tags={"qf-a-000001": {"maestro.dev/ephemeral": "true", "maestro:owner": "a", "maestro:created": "1", "maestro:expires": "2"}, "qf-b-000002": {}})
    assert PulumiDriver("file:///tmp/x", auto=auto).list() == [EphemeralStack("qf-a-000001", "a", 1, 2)]


def test_a_runner_log_without_a_report_is_an_infrastructure_error():
    with pytest.raises(DriverError, match="printed no JUnit XML"):
        junit_from_log("Traceback ...")


def test_the_docker_driver_writes_its_export_where_render_owns_it_and_removes_all_of_it(tmp_path, monkeypatch):
    """The export goes into a directory of its own (render refuses one with other files in
    it); its generated passwords beside it; destroy removes both."""
    from maestro_deploy import local as local_run
    from maestro_deploy.ephemeral import drivers
    from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

    calls = []
    monkeypatch.setattr(local_run.Compose, "build_images", lambda self, say: calls.append("build"))
    monkeypatch.setattr(local_run.Compose, "up", lambda self: calls.append("up"))
    monkeypatch.setattr(drivers.DockerDriver, "_docker", lambda self, args: "")
    monkeypatch.setattr(drivers, "leftovers", lambda stack, daemon: {})
    config = read_stack_config(resolve_stack_path("dev")[1])
    driver = drivers.DockerDriver(workdir=tmp_path)
    driver.deploy("qf-test-000001", config)
    assert calls == ["build", "up"]
    assert (tmp_path / "qf-test-000001" / "compose.yaml").is_file()
    assert (tmp_path / ".state" / "qf-test-000001" / "qf-test-000001.generated.json").is_file()
    driver.destroy("qf-test-000001")
    assert not (tmp_path / "qf-test-000001").exists() and not (tmp_path / ".state" / "qf-test-000001").exists()


def test_the_docker_driver_removes_only_what_its_run_wrote(tmp_path, monkeypatch):
    """A file of someone else's in a run's export directory stays, and destroy says so."""
    from maestro_deploy import local as local_run
    from maestro_deploy.ephemeral import DriverError, drivers
    from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

    monkeypatch.setattr(local_run.Compose, "build_images", lambda self, say: None)
    monkeypatch.setattr(local_run.Compose, "up", lambda self: None)
    monkeypatch.setattr(drivers.DockerDriver, "_docker", lambda self, args: "")
    monkeypatch.setattr(drivers, "leftovers", lambda stack, daemon: {})
    driver = drivers.DockerDriver(workdir=tmp_path)
    driver.deploy("qf-test-000002", read_stack_config(resolve_stack_path("dev")[1]))
    (tmp_path / "qf-test-000002" / "notes.txt").write_text("mine")
    with pytest.raises(DriverError, match="holds notes.txt, which maestro-deploy did not write"):
        driver.destroy("qf-test-000002")
    assert (tmp_path / "qf-test-000002" / "notes.txt").read_text() == "mine"


def test_a_candidate_image_is_deployed_and_the_stack_name_is_left_for_cleanup(tmp_path, monkeypatch):
    """What a CI pipeline does: a candidate image by variable; an always-run step reads the name."""
    driver = FakeDriver()
    monkeypatch.setattr(cli, "make_driver", lambda args, docker_host=None: driver)
    argv = ["ephemeral", "run", "--deploy", "engine", "--image", "engine=registry.example.com/maestro-engine:pr-42", "--suites", "unit", "--results", str(tmp_path), "--owner", "ci"]
    assert cli.main(argv) == 0
    ((_, name), *_) = driver.calls
    assert (tmp_path / "stack-name").read_text() == name + "\n"
    deployed = driver.deployed[name]
    assert deployed["maestro:components"]["engine"]["image"] == "registry.example.com/maestro-engine:pr-42"
    assert cli.main(["ephemeral", "run", "--deploy", "engine", "--image", "hive=x:1", "--results", str(tmp_path)]) == 2


def test_results_go_only_into_a_directory_the_tool_owns(tmp_path, monkeypatch, capsys):
    """`--results /` (as root) must not write into the real root: refused before any stack exists."""
    driver = FakeDriver()
    monkeypatch.setattr(cli, "make_driver", lambda args, docker_host=None: driver)
    (tmp_path / "mine.txt").write_text("mine\n")
    argv = ["ephemeral", "run", "--deploy", "engine", "--suites", "unit", "--results", str(tmp_path), "--owner", "ci"]
    assert cli.main(argv) == 2
    assert "--results: " in capsys.readouterr().err and driver.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
