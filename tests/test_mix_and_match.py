"""Mix and match across stacks: references to other stacks' outputs, external services
instead of bundled ones, and the compatibility matrix, on Kubernetes and on Docker."""

import json
import textwrap

import pulumi
import pytest
import yaml
from harness import REFERENCED_AS, render_env, stack_env
from pulumi.runtime import rpc

from maestro_deploy import cli
from maestro_deploy.offline import mock_run
from maestro_deploy.config.compatibility import load_matrix, satisfies
from maestro_deploy.offline.render import run_stack

K8S = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}}
DOCKER = {"maestro:platform": "docker"}
PLATFORMS = {"kubernetes": K8S, "docker": DOCKER}
REMOTE = "acme/maestro/engine-prod"
REMOTE_API = "https://api.engine-prod.example.com/api"
OUTPUTS = {REMOTE: {"engine_url": REMOTE_API, "versions": {"engine": "1.2.3"}}}
DB_URL = "postgresql://maestro:hunter2-db@db.example.com:6543/maestro"


def config(platform: str, **components) -> dict:
    return {**PLATFORMS[platform], "maestro:components": components}


def env_of(env, unit: str) -> dict:
    """A unit's env on either platform: values as strings, Secret references as ("secret", key)."""
    if any(r.type == "docker:index/container:Container" for r in env.run.registered):
        (box,) = [r for r in env.run.registered if r.type == "docker:index/container:Container" and r.name == unit]
        envs = box.inputs["envs"]
        envs = rpc.unwrap_rpc_secret(envs) if rpc.is_rpc_secret(envs) else envs
        return dict(e.split("=", 1) for e in envs)
    workload = [w for w in env.all("Deployment") + env.all("Job") if w["metadata"]["name"] == unit][0]
    (c,) = workload["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", ("secret", e.get("valueFrom", {}).get("secretKeyRef", {}).get("key"))) for e in c["env"]}


def write(tmp_path, config: dict, name="Pulumi.mine.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"config": config}))
    return str(path)


def outputs_file(tmp_path, outputs=OUTPUTS):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return str(path)


# --- stack references ---

@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_frontend_calls_the_engine_another_stack_exports(platform):
    env = render_env(config(platform, frontend={"backend": {"stack": REMOTE, "output": "engine_url"}}), stack_outputs=OUTPUTS)
    assert env_of(env, "frontend")["VITE_MAESTRO_API_BASE"] == REMOTE_API
    assert {"from": "frontend", "to": REMOTE_API, "via": "browser"} in env.outputs["wiring"]["edges"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hive_and_quality_fabric_take_references_too(platform):
    outputs = {REMOTE: {**OUTPUTS[REMOTE], "frontend_url": "https://app.engine-prod.example.com"}}
    env = render_env(
        config(
            platform,
            hive={"engine": {"stack": REMOTE, "output": "engine_url"}},
            **{
                "quality-fabric": {
                    "target": {
                        "api_base": {"stack": REMOTE, "output": "engine_url"},
                        "frontend_url": {"stack": REMOTE, "output": "frontend_url"},
                    }
                }
            },
        ),
        stack_outputs=outputs,
    )
    assert env_of(env, "hive")["MAESTRO_API_BASE"] == REMOTE_API
    test_config = [r for r in env.run.registered if r.name in ("quality-fabric-runner-files", "quality-fabric-runner")]
    text = json.dumps([r.inputs for r in test_config])
    assert REMOTE_API in text and "https://app.engine-prod.example.com" in text


def test_a_referenced_url_opens_exactly_its_port_on_kubernetes():
    env = render_env(config("kubernetes", hive={"engine": {"stack": REMOTE, "output": "engine_url"}}), stack_outputs=OUTPUTS)
    egress = env.get("NetworkPolicy", "hive")["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]} in egress


def test_a_url_may_be_written_as_a_plain_string():
    env = render_env(config("kubernetes", frontend={"backend": "https://api.other.example.com/api"}))
    assert env_of(env, "frontend")["VITE_MAESTRO_API_BASE"] == "https://api.other.example.com/api"


def test_the_shipped_stack_chains_to_engine_only():
    frontend = stack_env("frontend-on-remote-engine")
    engine = stack_env("engine-only")
    assert env_of(frontend, "frontend")["VITE_MAESTRO_API_BASE"] == engine.outputs["engine_url"]


@pytest.mark.parametrize(
    "outputs, message",
    [
        (None, f"refers to stack {REMOTE}: offline, give its outputs with --stack-outputs FILE"),
        ({}, f"stack {REMOTE} is not in the --stack-outputs file"),
        ({REMOTE: {"engine_internal_url": "http://x"}}, f"stack {REMOTE} has no output 'engine_url' (it has: engine_internal_url)"),
        ({REMOTE: {"engine_url": 42}}, f"output 'engine_url' of stack {REMOTE} is not an http(s) URL"),
    ],
)
@pytest.mark.parametrize("command", ["check", "render"])
def test_a_reference_that_cannot_resolve_is_named(tmp_path, capsys, nothing_registered, outputs, message, command):
    path = write(tmp_path, config("kubernetes", frontend={"backend": {"stack": REMOTE, "output": "engine_url"}}))
    argv = [command, path] + (["--stack-outputs", outputs_file(tmp_path, outputs)] if outputs is not None else [])
    argv += ["--out", str(tmp_path / "out")] if command == "render" else []
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == f"error: maestro:components.frontend.backend: {message}"


@pytest.mark.parametrize(
    "backend, message",
    [
        ({"url": REMOTE_API, "stack": REMOTE, "output": "engine_url"}, "give url, or stack and output, not both"),
        ({"stack": REMOTE}, "give url, or stack and output"),
        ({"stack": "a/b/c/d", "output": "engine_url"}, "expected a stack name: org/project/stack"),
    ],
)
def test_a_malformed_reference_is_named(tmp_path, capsys, backend, message):
    path = write(tmp_path, config("kubernetes", frontend={"backend": backend}))
    assert cli.main(["check", path]) == 2
    assert message in capsys.readouterr().err


def test_outputs_prints_what_another_stack_needs(capsys):
    assert cli.main(["outputs", "engine-only"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {REFERENCED_AS: stack_env("engine-only").outputs}
    assert printed[REFERENCED_AS]["versions"] == {"engine": "1.2.3"}


# --- external services instead of bundled ones ---

def secret_config(platform: str, **components) -> tuple[dict, list[str]]:
    """Config as the Pulumi CLI hands it over: decrypted, its key marked secret."""
    return config(platform, **components), ["maestro:components"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_external_database_replaces_the_bundled_one(platform):
    cfg, secret_keys = secret_config(platform, engine={"database": {"url": DB_URL}})
    run = run_stack("test", cfg, secret_keys)
    names = {r.name for r in run.registered}
    assert not {"engine-db", "engine-db-password", "engine-db-data-0"} & names
    assert "hunter2-db" not in json.dumps(run.outputs)
    assert {"from": "engine", "to": "postgresql://db.example.com:6543", "via": "network"} in run.outputs["wiring"]["edges"]


def test_an_external_database_url_reaches_the_engine_only_through_a_secret():
    cfg, secret_keys = secret_config("kubernetes", engine={"database": {"url": DB_URL}})
    run = run_stack("test", cfg, secret_keys)
    (secret,) = [r for r in run.registered if r.type == "kubernetes:core/v1:Secret" and r.name == "engine-env"]
    data = rpc.unwrap_rpc_secret(secret.inputs["stringData"])
    assert rpc.unwrap_rpc_secret(data["DATABASE_URL"]) == DB_URL
    for r in run.registered:
        if r.type != "kubernetes:core/v1:Secret":
            assert "hunter2-db" not in json.dumps(r.inputs, default=str), r.name
    env = render_env(cfg, secret_keys=secret_keys)
    assert env_of(env, "engine")["DATABASE_URL"] == ("secret", "DATABASE_URL")
    egress = env.get("NetworkPolicy", "engine")["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 6543}]} in egress


def test_on_docker_the_external_url_is_a_secret_env():
    cfg, secret_keys = secret_config("docker", engine={"database": {"url": DB_URL}})
    run = run_stack("test", cfg, secret_keys)
    (engine,) = [r for r in run.registered if r.type == "docker:index/container:Container"]
    assert rpc.is_rpc_secret(engine.inputs["envs"])
    assert f"DATABASE_URL={DB_URL}" in rpc.unwrap_rpc_secret(engine.inputs["envs"])


def test_an_encrypted_url_in_a_stack_file_passes_offline(tmp_path, capsys):
    path = tmp_path / "Pulumi.ext.yaml"
    path.write_text(
        textwrap.dedent(
            """
            config:
              maestro:kubernetes: {namespace: maestro-test, domain: test.example.com}
              maestro:components:
                engine:
                  database:
                    url:
                      secure: v1:c2FsdA==:Y2lwaGVydGV4dA==
            """
        )
    )
    assert cli.main(["check", str(path)]) == 0
    assert cli.main(["render", str(path), "--out", str(tmp_path / "k8s")]) == 0
    rendered = (tmp_path / "k8s" / "secret-engine-env.yaml").read_text()
    assert "DATABASE_URL: '[secret]'" in rendered
    assert cli.main(["render", str(path), "--platform", "docker", "--out", str(tmp_path / "compose")]) == 2
    assert "maestro:components.engine.database.url: encrypted; a Compose export needs its value" in capsys.readouterr().err
    assert not (tmp_path / "compose").exists()


@pytest.mark.parametrize(
    "database, message",
    [
        ({"url": DB_URL}, "maestro:components.engine.database.url: must be a Pulumi secret, not plain text"),
        ({"bundled": True, "url": {"secure": "v1:x"}}, "maestro:components.engine.database: give bundled: true or url, not both"),
        ({}, "maestro:components.engine.database: give bundled: true or url"),
        ({"bundled": False}, "maestro:components.engine.database: give bundled: true or url"),
        ({"url": {"secure": "v1:x"}, "image": "postgres:16"}, "maestro:components.engine.database.image: only with bundled: true"),
        ({"url": "mysql://x@y/z"}, "maestro:components.engine.database.url: expected a PostgreSQL URL"),
    ],
)
@pytest.mark.parametrize("command", ["check", "render"])
def test_database_mistakes_are_named(tmp_path, capsys, nothing_registered, database, message, command):
    path = write(tmp_path, config("kubernetes", engine={"database": database}))
    argv = [command, path] + (["--out", str(tmp_path / "out")] if command == "render" else [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert "hunter2" not in err and "mysql://" not in err, "a secret's value is never echoed"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_existing_storage_is_mounted_never_created(platform):
    env = render_env(config(platform, registry={"storage": {"existing": "packages-2024"}}))
    created = [r for r in env.run.registered if r.type in ("kubernetes:core/v1:PersistentVolumeClaim", "docker:index/volume:Volume")]
    assert created == []
    if platform == "kubernetes":
        volumes = env.deployment("registry").pod["volumes"]
        assert {"name": "data-0", "persistentVolumeClaim": {"claimName": "packages-2024"}} in volumes
    else:
        (box,) = [r for r in env.run.registered if r.type == "docker:index/container:Container"]
        assert {"volumeName": "packages-2024", "containerPath": "/data/packages"} in box.inputs["volumes"]


@pytest.mark.parametrize(
    "storage, message",
    [
        ({"bundled": True, "existing": "pkgs"}, "maestro:components.registry.storage: give bundled: true or existing, not both"),
        ({"bundled": False}, "maestro:components.registry.storage: give bundled: true or existing"),
        ({"existing": "pkgs", "size": "5Gi"}, "size and storage_class are for bundled storage"),
    ],
)
def test_storage_mistakes_are_named(tmp_path, capsys, storage, message):
    path = write(tmp_path, config("kubernetes", registry={"storage": storage}))
    assert cli.main(["check", path]) == 2
    assert message in capsys.readouterr().err


# --- the compatibility matrix ---

def test_the_matrix_parses_and_every_range_in_it_is_valid():
    matrix = load_matrix()
    assert {"maestro-engine", "maestro-frontend", "maestro-hive", "quality-fabric"} <= matrix.keys()
    for versions in matrix.values():
        for entry in versions.values():
            for _, spec in entry.requirements():
                satisfies("1.0.0", spec)  # raises on a malformed range


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_catalog_versions_are_compatible(platform, tmp_path, capsys):
    path = write(tmp_path, config(platform, engine={}, frontend={}, hive={}))
    assert cli.main(["check", path]) == 0
    assert "incompatible" not in capsys.readouterr().err


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("command", ["check", "render"])
def test_an_incompatible_pair_is_refused_naming_both_and_the_range(tmp_path, capsys, nothing_registered, platform, command):
    path = write(tmp_path, config(platform, engine={"version": "1.0.0"}, frontend={"version": "1.1.0"}))
    argv = [command, path] + (["--out", str(tmp_path / "out")] if command == "render" else [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "error: maestro:components.frontend: frontend 1.1.0 requires engine ^1.2.0, but engine 1.0.0 is deployed;"
        " set allow_incompatible: true on either to deploy anyway"
    ) in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_allow_incompatible_deploys_with_a_warning(tmp_path, capsys, platform):
    path = write(
        tmp_path, config(platform, engine={"version": "1.0.0"}, frontend={"version": "1.1.0", "allow_incompatible": True})
    )
    assert cli.main(["check", path]) == 0
    assert "warning: maestro:components.frontend: frontend 1.1.0 requires engine ^1.2.0" in capsys.readouterr().err
    env = render_env(yaml.safe_load(open(path))["config"])
    assert env_of(env, "frontend")


def test_a_contract_major_mismatch_is_refused(tmp_path, capsys):
    path = write(tmp_path, config("kubernetes", engine={}, frontend={"version": "2.0.0"}))
    assert cli.main(["check", path]) == 2
    assert "frontend 2.0.0 speaks API contract 2.0, but engine 1.2.3 serves 1.0" in capsys.readouterr().err


def test_a_version_missing_from_the_matrix_is_a_warning(tmp_path, capsys):
    path = write(tmp_path, config("kubernetes", **{"ml-platform": {"version": "0.6.0"}}))
    assert cli.main(["check", path]) == 0
    assert "ml-platform 0.6.0 is not in config/compatibility-matrix.yaml: its compatibility is unchecked" in capsys.readouterr().err


@pytest.mark.parametrize("platform", PLATFORMS)
def test_compatibility_holds_across_a_reference(tmp_path, capsys, nothing_registered, platform):
    outputs = {REMOTE: {"engine_url": REMOTE_API, "versions": {"engine": "2.0.0"}}}
    path = write(tmp_path, config(platform, frontend={"backend": {"stack": REMOTE, "output": "engine_url"}}))
    assert cli.main(["check", path, "--stack-outputs", outputs_file(tmp_path, outputs)]) == 2
    err = capsys.readouterr().err
    assert f"frontend 1.1.0 requires engine ^1.2.0, but engine 2.0.0 (in stack {REMOTE}) is deployed" in err


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_frontend_on_a_referenced_engine_is_checked_against_that_engine_not_the_local_one(tmp_path, capsys, platform):
    """The local engine (1.0.0) would refuse frontend 1.1.0, but the frontend never calls it."""
    backend = {"stack": REMOTE, "output": "engine_url"}
    compatible = {REMOTE: {"engine_url": REMOTE_API, "versions": {"engine": "1.2.3"}}}
    incompatible = {REMOTE: {"engine_url": REMOTE_API, "versions": {"engine": "2.0.0"}}}
    path = write(tmp_path, config(platform, engine={"version": "1.0.0"}, frontend={"backend": backend}))
    assert cli.main(["check", path, "--stack-outputs", outputs_file(tmp_path, compatible)]) == 0
    assert "incompatible" not in capsys.readouterr().err
    assert cli.main(["check", path, "--stack-outputs", outputs_file(tmp_path, incompatible)]) == 2
    err = capsys.readouterr().err
    assert f"frontend 1.1.0 requires engine ^1.2.0, but engine 2.0.0 (in stack {REMOTE}) is deployed" in err
    assert "engine 1.0.0 is deployed" not in err


def test_under_pulumi_up_a_referenced_incompatible_engine_stops_the_stack_before_its_workloads():
    """The CLI's check is offline; under `pulumi up` the referenced versions arrive as Outputs."""
    outputs = {REMOTE: {"engine_url": REMOTE_API, "versions": {"engine": "2.0.0"}}}
    cfg = config("kubernetes", frontend={"backend": {"stack": REMOTE, "output": "engine_url"}})
    registered = []
    original = mock_run._RecordingMonitor.RegisterResource

    def spy(self, request):
        registered.append(request.type)
        return original(self, request)

    mock_run._RecordingMonitor.RegisterResource = spy
    try:
        with pytest.raises(pulumi.RunError, match=r"frontend 1.1.0 requires engine \^1.2.0, but engine 2.0.0"):
            run_stack("test", cfg, stack_outputs=outputs)
    finally:
        mock_run._RecordingMonitor.RegisterResource = original
    assert "kubernetes:apps/v1:Deployment" not in registered and "kubernetes:core/v1:Namespace" not in registered


def test_someone_elses_incompatible_stack_is_refused(capsys, nothing_registered):
    from conftest import ROOT

    path = str(ROOT / "tests" / "fixtures" / "Pulumi.incompatible.yaml")
    assert cli.main(["check", path]) == 2
    err = capsys.readouterr().err
    assert "hive 3.1.0 requires engine >=1.2.0 <2.0.0, but engine 2.0.0 is deployed" in err
    assert "engine 2.0.0 requires hive ^4.0.0, but hive 3.1.0 is deployed" in err


def test_the_custom_frontend_stack_allows_its_origin():
    env = stack_env("custom-frontend")
    assert env_of(env, "engine")["MAESTRO_CORS_ORIGINS"] == "https://dashboard.partner.example.com"
    assert "frontend" not in env.names("Deployment")


def test_every_versioned_call_of_the_wiring_table_checks_its_contract_major():
    """Not only the frontend's: a hive that declares the contract it speaks is held to its engine's."""
    from maestro_deploy.config.compatibility import Deployed, Entry, check

    matrix = {
        "maestro-engine": {"1.2.3": Entry(api_contract_version="1.0")},
        "maestro-hive": {"4.0.0": Entry(api_contract_version="2.0")},
    }
    errors, _ = check([Deployed("engine", "1.2.3"), Deployed("hive", "4.0.0")], matrix)
    assert [str(e) for e in errors] == [
        "maestro:components.hive: hive 4.0.0 speaks API contract 2.0, but engine 1.2.3 serves 1.0; "
        "set allow_incompatible: true on either to deploy anyway"
    ]
    # A tester of any target is held to no contract.
    matrix["quality-fabric"] = {"2.0.0": Entry(api_contract_version="9.0")}
    assert check([Deployed("engine", "1.2.3"), Deployed("quality-fabric", "2.0.0")], matrix) == ([], [])
