"""backup, restore and logs against a fake Docker engine that records every call: what they
ask of Docker, what they write, and what they refuse before touching anything. The live
proof (a real stack backed up, damaged, restored) is scripts/smoke's operations section."""

import hashlib
import json
import os
import stat
import subprocess

import pytest

from maestro_deploy import cli
from maestro_deploy import local as local_run
from maestro_deploy.operate import restore as restore_module

DUMP, ARCHIVE = b"PGDMP\x00custom dump", b"registry files as tar"


def container(name, product, component, volumes=(), env=(), status="running", restart="unless-stopped"):
    return {
        "Name": f"/maestro-dev-{name}",
        "State": {"Status": status, "Health": {"Status": "healthy"}, "StartedAt": ""},
        "Config": {
            "Image": f"image-of-{name}",
            "User": "10001:10001",
            "Env": list(env),
            "Labels": {"maestro.stack": "dev", "maestro.product": product, "maestro.component": component, "maestro.version": "1.0.0"},
        },
        "HostConfig": {"RestartPolicy": {"Name": restart}},
        "Mounts": [{"Type": "volume", "Name": v, "Destination": path} for path, v in volumes],
    }


def dev(db_status="running"):
    return [
        container("engine", "engine", "api"),
        container("engine-db", "engine", "database", [("/var/lib/postgresql/data", "maestro-dev-engine-db-data-0")],
                  ["POSTGRES_USER=maestro", "POSTGRES_DB=maestro"], status=db_status),
        container("registry", "registry", "pypi", [("/data/packages", "maestro-dev-registry-data-0")]),
        container("quality-fabric-runner", "quality-fabric", "runner", [("/results", "maestro-dev-quality-fabric-runner-reports")],
                  status="exited", restart="no"),
    ]


class FakeDocker:
    """`docker ps`, `inspect`, `stop`, `start` (text) and `exec`, `run` (bytes), each call recorded."""

    def __init__(self, containers, fail=None):
        self.containers, self.fail, self.calls = containers, fail, []

    def run(self, args, check=True, env=None):
        self.calls.append(args[1:])
        if args[:2] == ["docker", "ps"]:
            return subprocess.CompletedProcess(args, 0, "\n".join(c["Name"][1:] for c in self.containers), "")
        if args[:2] == ["docker", "inspect"]:
            return subprocess.CompletedProcess(args, 0, json.dumps(self.containers), "")
        return subprocess.CompletedProcess(args, 0, "", "")

    def bytes(self, args, stdin, env):
        args = args[1:]  # after `docker`
        self.calls.append(args)
        if self.fail and self.fail in args:
            raise local_run.LocalRunError(f"`docker {args[0]}` failed: no space left on device")
        return DUMP if "pg_dump" in args else ARCHIVE if args[0] == "run" else b""

    def touched(self):
        return [c for c in self.calls if c[0] not in ("ps", "inspect")]


@pytest.fixture
def docker(monkeypatch):
    def install(containers, fail=None):
        fake = FakeDocker(containers, fail)
        monkeypatch.setattr(local_run.daemon, "_run", fake.run)
        monkeypatch.setattr(local_run.daemon, "_run_bytes", fake.bytes)
        monkeypatch.setattr(restore_module, "wait_healthy", lambda daemon, stack, names: None)
        return fake

    return install


def take(tmp_path, capsys, docker):
    docker(dev())
    assert cli.main(["backup", "dev", "--to", str(tmp_path / "backups")]) == 0
    return tmp_path / "backups" / capsys.readouterr().out.splitlines()[-1].rsplit("/", 1)[1]


def test_a_backup_dumps_the_database_inside_its_container_and_reads_volumes_read_only(docker, tmp_path, capsys):
    fake = docker(dev())
    path = take(tmp_path, capsys, lambda installed: None)
    assert ["exec", "maestro-dev-engine-db", "pg_dump", "--format=custom", "--username", "maestro", "--dbname", "maestro"] in fake.calls
    (run,) = [c for c in fake.calls if c[0] == "run"]
    assert "maestro-dev-registry-data-0:/maestro-volume:ro,nocopy" in run and ["--network", "none"] == run[run.index("--network"):run.index("--network") + 2]
    assert not any("reports" in " ".join(c) for c in fake.calls)  # a task's reports are not data
    assert path.name.startswith("dev-") and path.name.endswith("Z")
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()} == {
        "engine-db.dump": 0o600, "registry--data-packages.tar": 0o600, "manifest.json": 0o600,
        ".maestro-deploy-output.json": 0o644,  # the confined writer's record of what it wrote
    }
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["stack"] == "dev" and manifest["versions"] == {"engine": "1.0.0", "quality-fabric": "1.0.0", "registry": "1.0.0"}
    assert [(p["file"], p["size"], p["sha256"]) for p in manifest["parts"]] == [
        ("engine-db.dump", len(DUMP), hashlib.sha256(DUMP).hexdigest()),
        ("registry--data-packages.tar", len(ARCHIVE), hashlib.sha256(ARCHIVE).hexdigest()),
    ]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary name left


def test_a_part_that_fails_leaves_nothing_and_exits_1(docker, tmp_path, capsys):
    docker(dev(), fail="pg_dump")
    assert cli.main(["backup", "dev", "--to", str(tmp_path)]) == 1
    assert "engine-db.dump" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("containers", [[], dev(db_status="exited")])
def test_backup_of_a_stack_that_is_not_running_exits_2(docker, tmp_path, capsys, containers):
    fake = docker(containers)
    assert cli.main(["backup", "dev", "--to", str(tmp_path)]) == 2
    assert "is not running" in capsys.readouterr().err
    assert fake.touched() == [] and list(tmp_path.iterdir()) == []


def test_backup_and_restore_are_for_docker_stacks(capsys, tmp_path):
    assert cli.main(["backup", "staging", "--to", str(tmp_path)]) == 2
    assert "maestro:platform: `backup` is for Docker stacks" in capsys.readouterr().err


def test_restore_puts_each_part_back_with_its_readers_stopped(docker, tmp_path, capsys):
    path = take(tmp_path, capsys, docker)
    fake = docker(dev())
    assert cli.main(["restore", "dev", str(path)]) == 0
    assert fake.touched() == [
        ["stop", "maestro-dev-engine"],
        ["exec", "-i", "maestro-dev-engine-db", "pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
         "--username", "maestro", "--dbname", "maestro"],
        ["start", "maestro-dev-engine"],
        ["stop", "maestro-dev-registry"],
        fake.touched()[4],
        ["start", "maestro-dev-registry"],
    ]
    assert "maestro-dev-registry-data-0:/maestro-volume:nocopy" in fake.touched()[4]
    out = capsys.readouterr().out
    assert "restored engine-db.dump into engine-db" in out and "restarted engine" in out


@pytest.mark.parametrize("damage", ["r+b", "ab", "wb"])  # a byte changed, bytes added, the file emptied
def test_a_damaged_backup_is_refused_naming_the_part_before_anything_is_touched(docker, tmp_path, capsys, damage):
    path = take(tmp_path, capsys, docker)
    with open(path / "registry--data-packages.tar", damage) as f:
        f.write(b"X")
    fake = docker(dev())
    assert cli.main(["restore", "dev", str(path)]) == 2
    err = capsys.readouterr().err
    assert "registry--data-packages.tar: does not match its size and sha256" in err and "engine-db.dump" not in err
    assert fake.touched() == []
    (path / "engine-db.dump").unlink()
    assert cli.main(["restore", "dev", str(path)]) == 2
    assert "engine-db.dump: no such part of a backup" in capsys.readouterr().err


def test_another_stacks_backup_is_refused_unless_forced(docker, tmp_path, capsys):
    path = take(tmp_path, capsys, docker)
    manifest = json.loads((path / "manifest.json").read_text())
    os.chmod(path / "manifest.json", 0o600)
    (path / "manifest.json").write_text(json.dumps({**manifest, "stack": "prod"}))
    fake = docker(dev())
    assert cli.main(["restore", "dev", str(path)]) == 2
    assert "is a backup of stack 'prod', not 'dev'; add --force" in capsys.readouterr().err
    assert fake.touched() == []
    assert cli.main(["restore", "dev", str(path), "--force"]) == 0


@pytest.mark.parametrize("bad", [{"file": "../../etc/passwd"}, {"file": "manifest.json"}, "not a part"])
def test_a_manifest_cannot_name_a_file_outside_its_backup(docker, tmp_path, capsys, bad):
    path = take(tmp_path, capsys, docker)
    manifest = json.loads((path / "manifest.json").read_text())
    part = {**manifest["parts"][0], **bad} if isinstance(bad, dict) else bad
    (path / "manifest.json").write_text(json.dumps({**manifest, "parts": [part]}))
    fake = docker(dev())
    assert cli.main(["restore", "dev", str(path)]) == 2
    assert "is not a manifest this tool wrote" in capsys.readouterr().err and fake.touched() == []


def test_logs_of_one_unit_and_of_all(docker, monkeypatch, capsys):
    docker(dev())
    asked = []

    class Process:
        def __init__(self, args):
            asked.append(args)
            self.stdout = iter([f"a line of {args[-1]}\n"])

        def wait(self):
            return 0

    monkeypatch.setattr(local_run.Daemon, "stream", lambda daemon, args: Process(args[1:]))
    assert cli.main(["logs", "dev", "engine-db", "--since", "10m"]) == 0
    assert asked == [["logs", "--since", "10m", "maestro-dev-engine-db"]]
    assert capsys.readouterr().out == "a line of maestro-dev-engine-db\n"
    assert cli.main(["logs", "dev"]) == 0
    assert "engine-db             | a line of maestro-dev-engine-db" in capsys.readouterr().out.splitlines()
    assert cli.main(["logs", "dev", "engine-dbb"]) == 2
    assert "error: engine-dbb: no such unit in dev; its units: engine, engine-db," in capsys.readouterr().err
    assert cli.main(["logs", "dev", "--since", "yesterday"]) == 2


def test_logs_on_kubernetes_print_the_kubectl_command(capsys):
    assert cli.main(["logs", "staging", "engine", "--follow"]) == 0
    assert capsys.readouterr().out.strip() == (
        "kubectl logs -n maestro-staging -l app.kubernetes.io/instance=staging,maestro.dev/unit=engine "
        "--all-containers --prefix --tail=-1 --max-log-requests 20 --follow"
    )
    assert cli.main(["logs", "staging", "--since", "1h"]) == 0
    assert "-l app.kubernetes.io/instance=staging,app.kubernetes.io/part-of=maestro " in capsys.readouterr().out


def test_an_upgrades_deadline_comes_from_each_units_health_check():
    from maestro_deploy.operate.upgrade import health_deadline

    check = {"healthcheck": {"interval": "5s", "timeout": "3s", "retries": 3, "start_period": "60s"}}
    assert health_deadline(check) == 60 + 4 * (5 + 3)  # what docs/operations.md states for every unit here
    assert health_deadline({"healthcheck": {"interval": "1m30s", "timeout": "500ms", "retries": 1}}) == 2 * 90.5


def test_a_unit_docker_calls_unhealthy_is_named_with_its_last_log_lines(monkeypatch):
    from maestro_deploy.operate import upgrade

    class Fake:
        daemon = None

        def services(self):
            hc = {"interval": "5s", "timeout": "3s", "retries": 3, "start_period": "60s"}
            return {"engine": {"container_name": "maestro-dev-engine", "healthcheck": hc, "restart": "unless-stopped"},
                    "hive": {"container_name": "maestro-dev-hive", "healthcheck": hc, "restart": "unless-stopped"}}

        def logs(self, service):
            return "".join(f"line {i}\n" for i in range(50))

        def health_said(self, service, specs=None):
            return {"engine": 'GET /health answered 503: {"status": "degraded", "database": "refused: password authentication failed"}'}[service]

        def health_now(self, services, specs):
            return {s: states[specs[s]["container_name"]] for s in services}

    states = {"maestro-dev-engine": "unhealthy", "maestro-dev-hive": "healthy"}
    with pytest.raises(upgrade.NeverHealthy) as raised:
        upgrade.wait_for(Fake(), ["engine", "hive"])
    message = str(raised.value)
    assert raised.value.unit == "engine" and message.startswith("engine (maestro-dev-engine) did not become healthy")
    # Why, in the unit's own words: its health check's last answer.
    assert '(unhealthy; GET /health answered 503: {"status": "degraded", "database": "refused: password authentication failed"})' in message
    assert message.endswith("\n".join(f"line {i}" for i in range(30, 50))) and "line 29\n" not in message
    upgrade.wait_for(Fake(), ["hive"])  # only the replaced units are waited for


def export(out, files: dict) -> None:
    """An export as `compose up` writes one: through the writer, which records it."""
    from maestro_deploy.safety.files import File, claim

    claim(out).replace({name: File(text, mode=0o400, secret=True) for name, text in files.items()})


def test_the_previous_export_is_kept_whole_and_put_back(tmp_path):
    from maestro_deploy.operate.upgrade import Previous

    out = tmp_path / "dev-compose"
    export(out, {"secrets/engine.env": "old"})
    previous = Previous(out)
    previous.keep()
    assert not out.exists() and (previous.path / "secrets" / "engine.env").read_text() == "old"
    export(out, {"secrets/engine.env": "new"})
    previous.put_back()
    assert (out / "secrets" / "engine.env").read_text() == "old" and stat.S_IMODE((out / "secrets" / "engine.env").stat().st_mode) == 0o400
    assert (previous.failed / "secrets" / "engine.env").read_text() == "new" and not previous.path.exists()
    previous.keep()
    export(out, {"half-written.yaml": "x"})
    previous.restore()  # a render that failed: the export that runs is where it was
    assert (out / "secrets" / "engine.env").read_text() == "old" and not (out / "half-written.yaml").exists()


@pytest.mark.parametrize("aside", [".previous", ".failed"])
def test_a_directory_of_the_users_under_an_exports_name_aside_is_never_removed(tmp_path, aside):
    """`<out>.previous` and `<out>.failed` are replaced only through the writer: a directory of
    the user's under either name stays as it is, and the upgrade stops before anything moves."""
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.operate.upgrade import Previous

    out = tmp_path / "dev-compose"
    export(out, {"compose.yaml": "services: {}"})
    mine = tmp_path / f"dev-compose{aside}"
    mine.mkdir()
    (mine / "IMPORTANT.txt").write_text("my backup")
    # Both are made room for before anything starts: a rollback, which only renames, cannot fail on them.
    with pytest.raises(ConfigError, match=f"dev-compose{aside}: holds files that maestro-deploy did not write"):
        Previous(out).keep()
    assert (mine / "IMPORTANT.txt").read_text() == "my backup"
    assert (out / "compose.yaml").exists()  # nothing moved


def test_a_restore_that_fails_starts_the_readers_again_and_exits_1(docker, tmp_path, capsys):
    path = take(tmp_path, capsys, docker)
    fake = docker(dev(), fail="pg_restore")
    assert cli.main(["restore", "dev", str(path)]) == 1
    assert "error: restore failed: engine-db.dump: `docker exec` failed" in capsys.readouterr().err
    assert fake.touched()[-1] == ["start", "maestro-dev-engine"]
