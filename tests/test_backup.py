"""Scheduled backups on Kubernetes (`maestro:backup`): a CronJob per stateful part, its claim,
its network rules, and the script each run executes, run here for real on a scratch directory."""

import os
import re
import subprocess

import kubernetes_validate
import pytest
import yaml
from conftest import ROOT
from cross_checks import pod_template_of
from harness import render_env, stack_env

from maestro_components import grammar
from maestro_components.kubernetes.backup import MOUNT, SOURCE, backup_script
from maestro_components.unit import DataVolume, ServiceUnit
from maestro_deploy import cli

NIGHTLY = {"schedule": "17 3 * * *", "keep": 7}
KUBERNETES = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}}
PARTS = {"engine-db-backup", "registry-backup", "ml-platform-backup"}


def stack(backup, components=None, **config):
    components = {"engine": {}, "registry": {}, "ml-platform": {}} if components is None else components
    return render_env({**KUBERNETES, "maestro:components": components, "maestro:backup": backup, **config})


def pod(env, name):
    return pod_template_of(env.get("CronJob", name))["spec"]


def script(env, name):
    (container,) = pod(env, name)["containers"]
    assert container["command"][:2] == ["/bin/sh", "-c"]
    return container["command"][2]


def test_staging_backs_up_each_stateful_part_on_its_schedule():
    env = stack_env("staging")
    assert env.names("CronJob") == PARTS
    for name in PARTS:
        spec = env.get("CronJob", name)["spec"]
        assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("17 3 * * *", "Etc/UTC", "Forbid")
        assert spec["successfulJobsHistoryLimit"] == spec["failedJobsHistoryLimit"] == 3
        assert spec["startingDeadlineSeconds"] == 3600 and spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 7200
        assert "tail -n +8" in script(env, name)  # keep: 7


def test_the_database_is_dumped_with_its_own_image_and_password():
    env = stack_env("staging")
    database = env.deployment("engine-db")
    (container,) = pod(env, "engine-db-backup")["containers"]
    assert container["image"] == database.container["image"]
    assert "pg_dump --format=custom" in script(env, "engine-db-backup")
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "SOURCE_HOST": "engine-db.maestro-staging.svc.cluster.local",
        "SOURCE_PORT": "5432",
    }
    # The password file, from the database's own Secret, where the database reads it.
    secret = next(v for v in pod(env, "engine-db-backup")["volumes"] if "secret" in v)["secret"]
    assert secret["secretName"] == "engine-db-secret-files"
    assert "/run/secrets/postgres-password" in {m["mountPath"] for m in container["volumeMounts"]}
    # It reaches the database over the network: no volume of the database's, no node of its.
    assert "affinity" not in pod(env, "engine-db-backup")
    assert not any(v.get("persistentVolumeClaim", {}).get("claimName") == "engine-db-data-0" for v in pod(env, "engine-db-backup")["volumes"])


def test_volumes_are_archived_read_only_beside_their_pod():
    env = stack_env("staging")
    for unit in ("registry", "ml-platform"):
        spec = pod(env, f"{unit}-backup")
        (container,) = spec["containers"]
        source = next(v for v in spec["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == f"{unit}-data-0")
        assert source["persistentVolumeClaim"]["readOnly"] is True
        assert {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}[f"{SOURCE}/0"] is True
        (term,) = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"] == env.deployment(unit).manifest["spec"]["selector"]["matchLabels"]
        assert f'tar -C {SOURCE}/0 -czf - . > "$BACKUP_FILE"' in script(env, f"{unit}-backup")


def test_backup_pods_reach_their_source_only():
    env = stack_env("staging")
    dump = env.network_rules("engine-db-backup")
    assert dump["ingress"] == []
    # DNS, to find the database, then the database's pods on its port.
    assert [r["ports"] for r in dump["egress"]] == [
        [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        [{"protocol": "TCP", "port": 5432}],
    ]
    assert env.network_rules("registry-backup")["egress"] == env.network_rules("ml-platform-backup")["egress"] == []


def test_each_part_gets_a_protected_retained_claim_of_its_own():
    env = stack_env("staging")
    for name in PARTS:
        claim = env.get("PersistentVolumeClaim", name)
        assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
        (registered,) = env.registered("kubernetes:core/v1:PersistentVolumeClaim", name)
        assert registered.protect and registered.retain_on_delete
        volumes = pod(env, name)["volumes"]
        assert {"name": volumes[-1]["name"], "persistentVolumeClaim": {"claimName": name}} == volumes[-1]


def test_a_claim_is_as_large_as_its_part_unless_sized():
    env = stack(NIGHTLY, {"engine": {}, "ml-platform": {"storage": {"size": "50Gi"}}})
    assert env.get("PersistentVolumeClaim", "ml-platform-backup")["spec"]["resources"]["requests"] == {"storage": "50Gi"}
    assert env.get("PersistentVolumeClaim", "engine-db-backup")["spec"]["resources"]["requests"] == {"storage": "10Gi"}
    sized = stack({**NIGHTLY, "storage": {"size": "5Gi", "storage_class": "cold"}})
    assert sized.get("PersistentVolumeClaim", "registry-backup")["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "5Gi"}},
        "storageClassName": "cold",
    }


def test_an_existing_claim_is_shared_and_never_created():
    env = stack({**NIGHTLY, "storage": {"existing": "nightly"}})
    assert not PARTS & env.names("PersistentVolumeClaim")
    for name in PARTS:
        assert pod(env, name)["volumes"][-1]["persistentVolumeClaim"] == {"claimName": "nightly"}


def test_a_throwaway_stack_protects_no_backup():
    env = stack(NIGHTLY, **{"maestro:ephemeral": {"owner": "ci", "created": 1, "expires": 2}})
    (claim,) = env.registered("kubernetes:core/v1:PersistentVolumeClaim", "registry-backup")
    assert not claim.protect and not claim.retain_on_delete


def test_only_what_holds_data_is_backed_up():
    assert stack(NIGHTLY, {"hive": {"engine": "https://api.example.com/api"}}).all("CronJob") == []
    assert stack(NIGHTLY, {"engine": {}, "frontend": {}}).names("CronJob") == {"engine-db-backup"}
    assert "CronJob" not in {o["kind"] for o in stack_env("engine-only").objects}


def test_progress_deadlines_follow_the_probes_and_pulumi_waits_as_long():
    env = stack_env("staging")
    for name, deadline, rounds in (("engine", 300, 2), ("frontend", 300, 2), ("hive", 300, 1), ("engine-db", 420, 1)):
        deployment = env.deployment(name)
        probe = deployment.container["livenessProbe"]
        assert 180 + 2 * (probe["initialDelaySeconds"] + probe["failureThreshold"] * probe["periodSeconds"]) <= deadline
        assert deployment.manifest["spec"]["progressDeadlineSeconds"] == deadline
        (registered,) = env.registered("kubernetes:apps/v1:Deployment", name)
        assert registered.timeouts == {"create": f"{deadline * rounds + 60}s", "update": f"{deadline * rounds + 60}s"}


# --- check ---

def check(tmp_path, capsys, text):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(text)
    code = cli.main(["check", str(path)])
    return code, capsys.readouterr()


def test_on_docker_the_key_schedules_nothing_and_says_so(tmp_path, capsys):
    code, out = check(tmp_path, capsys, 'config:\n  maestro:platform: docker\n  maestro:components: {engine: {}}\n  maestro:backup: {schedule: "@daily", keep: 3}\n')
    assert code == 0
    assert "warning: maestro:backup: schedules nothing on the docker platform: run `maestro-deploy backup <stack>`" in out.err
    # And under `pulumi up`: the warning, and nothing scheduled.
    docker = render_env({"maestro:platform": "docker", "maestro:components": {"engine": {}}, "maestro:backup": NIGHTLY})
    assert docker.objects == [] and docker.registered("maestro:kubernetes:Backups") == []
    assert any(w.startswith("maestro:backup: schedules nothing on the docker platform") for w in docker.run.warnings)


def test_a_stack_with_nothing_to_back_up_is_told(tmp_path, capsys):
    code, out = check(
        tmp_path, capsys, 'config:\n  maestro:kubernetes: {namespace: x, domain: x.example.com}\n  maestro:components: {hive: {engine: "https://api.example.com/api"}}\n  maestro:backup: {schedule: "@daily", keep: 3}\n'
    )
    assert code == 0
    assert "warning: maestro:backup: schedules nothing: the stack has no bundled database, registry or ml-platform" in out.err


# --- the script each run executes, on a scratch directory with a clock that moves ---

UNIT = ServiceUnit(
    product="registry", component="pypi", name="registry", image="x:1", version="1", kind="service",
    resources={}, data=[DataVolume(path="/data/packages", size="1Gi")],
)


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "source" / "0").mkdir(parents=True)
    (tmp_path / "source" / "0" / "pkg-1.0.tar.gz").write_text("a package")
    (tmp_path / "bin").mkdir()
    clock = tmp_path / "bin" / "date"
    # Each run is a minute after the last.
    clock.write_text(f'#!/bin/sh\nn=$(cat {tmp_path}/minute 2>/dev/null || echo 10)\necho $((n+1)) > {tmp_path}/minute\necho 20261130T03${{n}}00Z\n')
    clock.chmod(0o755)
    return tmp_path


def run(scratch, keep, unit=UNIT):
    text = backup_script(unit, keep).replace(f"{SOURCE}/", f"{scratch}/source/").replace(f"dir={MOUNT}/", f"dir={scratch}/backup/")
    env = {**os.environ, "PATH": f"{scratch}/bin:{os.environ['PATH']}"}
    return subprocess.run(["sh", "-c", text], capture_output=True, text=True, env=env)


def test_each_run_keeps_the_newest_copies_only(scratch):
    for _ in range(4):
        assert run(scratch, keep=2).returncode == 0
    kept = sorted(os.listdir(scratch / "backup" / "registry"))
    assert kept == ["registry-data-0-20261130T031200Z.tar.gz", "registry-data-0-20261130T031300Z.tar.gz"]
    listing = subprocess.run(["tar", "-tzf", str(scratch / "backup" / "registry" / kept[-1])], capture_output=True, text=True)
    assert "./pkg-1.0.tar.gz" in listing.stdout.splitlines()


def test_a_failed_run_leaves_nothing_half_written_and_deletes_nothing(scratch):
    assert run(scratch, keep=1).returncode == 0
    (scratch / "source" / "0").rename(scratch / "source" / "gone")
    failed = run(scratch, keep=1)
    assert failed.returncode != 0
    assert os.listdir(scratch / "backup" / "registry") == ["registry-data-0-20261130T031000Z.tar.gz"]


# --- the restore procedure in docs/kubernetes.md, held to the stack it restores ---

def restore_pods():
    """The restore Pods of docs/kubernetes.md, as `kubectl apply` receives them for staging."""
    text = (ROOT / "docs" / "kubernetes.md").read_text()
    manifests = re.findall(r"apply -f - <<EOF\n(.*?)\nEOF\n", text, re.S)
    # The shell's unquoted here-document: $STACK expands, \$ is a dollar.
    return [yaml.safe_load(m.replace("$STACK", "staging").replace("\\$", "$")) for m in manifests]


def test_the_documented_restores_are_valid_and_may_do_what_the_backups_do():
    env = stack_env("staging")
    pods = restore_pods()
    assert [p["metadata"]["name"] for p in pods] == ["engine-db-restore", "registry-restore"]
    for restore, backup in zip(pods, ("engine-db-backup", "registry-backup")):
        kubernetes_validate.validate(restore, "1.29.0", strict=True)
        spec = pod(env, backup)
        assert restore["spec"]["containers"][0]["image"] == spec["containers"][0]["image"]
        assert restore["spec"]["securityContext"] == spec["securityContext"]
        # The backup's NetworkPolicy is the restore's: it selects the restore's pod.
        policy = env.network_rules(backup)["podSelector"]["matchLabels"]
        assert policy.items() <= restore["metadata"]["labels"].items()
        claims = {v["persistentVolumeClaim"]["claimName"] for v in restore["spec"]["volumes"] if "persistentVolumeClaim" in v}
        assert claims <= env.names("PersistentVolumeClaim")
    database = env.network_rules("engine-db")["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert database.items() <= pods[0]["metadata"]["labels"].items()
    assert "pg_restore --clean --if-exists --single-transaction" in " ".join(pods[0]["spec"]["containers"][0]["command"])


# --- the schedule grammar (grammar.cron_problem): what a CronJob takes, and fires on ---

@pytest.mark.parametrize(
    "schedule",
    ["17 3 * * *", "*/15 * * * *", "0 3 * * MON-FRI", "0 0 1 jan,jul *", "@hourly", "@midnight", "5 4 * * sun",
     "0 0 29 2 *", "0 12 ? * 1-5/2", "30 2 31 * *", "0\t0  * * 0"],
)
def test_a_schedule_kubernetes_takes_is_taken(schedule):
    assert grammar.cron_problem(schedule) is None


@pytest.mark.parametrize(
    "schedule, problem",
    [
        ("60 * * * *", "minute '60': out of range: 0 to 59"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 4"),
        ("0 0 * * 7", "day of week '7': out of range: 0 to 6"),
        ("0 0 31 4,6,9,11 *", "never fires: none of the months chosen has any of the days of month chosen"),
        ("@every 1h", "unknown macro '@every 1h'; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"),
        ("1-2-3 * * * *", "minute '1-2-3': '1-2-3': one '-' at most"),
        ("5-1 * * * *", "minute '5-1': '5-1' runs backwards"),
        ("a * * * *", "minute 'a': 'a' is not a number"),
        ("0 0 * smarch *", "month 'smarch': 'smarch' is not a number or a name (JAN/FEB/MAR/APR/MAY/JUN/JUL/AUG/SEP/OCT/NOV/DEC)"),
        ("*/0 * * * *", "minute '*/0': step '0' must be a positive number"),
        ("", "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 0"),
    ],
)
def test_a_schedule_kubernetes_refuses_or_that_never_fires_is_named(schedule, problem):
    assert grammar.cron_problem(schedule) == problem
