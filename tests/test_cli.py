"""`maestro-deploy check | render | schema` as a user runs them."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import DOCKER_STACKS, ROOT, STACKS

from maestro_deploy import cli
from maestro_deploy.config.schema import stack_file_schema

SCHEMA_FILE = ROOT / "config" / "stack-config.schema.json"


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_checks(stack, capsys, stack_outputs_file):
    assert cli.main(["check", stack, "--stack-outputs", stack_outputs_file]) == 0
    platform = "docker" if stack in DOCKER_STACKS else "kubernetes"
    out = capsys.readouterr().out
    assert out.startswith(f"{stack}: valid ({platform}; ")
    # Each line names a key of the stack's own platform: a Docker stack has no maestro:kubernetes.
    if platform == "docker":
        assert "maestro:kubernetes" not in out and f"{stack}: Docker daemon " in out, out
    else:
        assert "maestro:docker" not in out, out


def test_render_writes_objects_as_a_cluster_receives_them(tmp_path):
    out = tmp_path / "staging"
    assert cli.main(["render", "staging", "--out", str(out)]) == 0
    files = sorted(f for f in out.glob("*.yaml") if f.name != "kustomization.yaml")
    docs = [yaml.safe_load(f.read_text()) for f in files]
    assert {"deployment-engine.yaml", "service-engine.yaml", "namespace-maestro-staging.yaml"} <= {f.name for f in files}
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= doc.keys()
    engine = yaml.safe_load((out / "deployment-engine.yaml").read_text())
    assert engine["spec"]["replicas"] == 2 and isinstance(engine["spec"]["replicas"], int)
    port = engine["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert port == 8000 and isinstance(port, int)
    secret = yaml.safe_load((out / "secret-engine-db-secret-files.yaml").read_text())
    assert secret["stringData"] == {"run_secrets_postgres-password": "[secret]"}
    text = "".join(f.read_text() for f in files)
    assert "generated-secret-placeholder" not in text


def test_render_replaces_a_previous_render(tmp_path):
    out = tmp_path / "out"
    cli.main(["render", "staging", "--out", str(out)])
    cli.main(["render", "engine-only", "--out", str(out)])
    assert not (out / "deployment-frontend.yaml").exists()


def test_a_stack_file_written_by_someone_else_renders_with_its_wiring(tmp_path):
    path = tmp_path / "Pulumi.acme-dev.yaml"
    path.write_text(
        textwrap.dedent(
            """
            config:
              maestro:platform: kubernetes
              maestro:kubernetes: {namespace: acme-dev, domain: dev.acme.example.org}
              maestro:components:
                engine: {version: "1.2.4", replicas: 2}
                frontend: {}
                quality-fabric: {target: {frontend_url: "https://ui.acme.example.org"}, test_suites: [e2e]}
            """
        )
    )
    out = tmp_path / "out"
    assert cli.main(["render", str(path), "--out", str(out)]) == 0
    frontend = yaml.safe_load((out / "deployment-frontend.yaml").read_text())
    env = {e["name"]: e.get("value") for e in frontend["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["VITE_MAESTRO_API_BASE"] == "http://api.dev.acme.example.org/api"
    files = yaml.safe_load((out / "configmap-quality-fabric-runner-files.yaml").read_text())["data"]
    test_config = yaml.safe_load(next(iter(files.values())))
    assert test_config["target"] == {
        "api_base": "http://engine.acme-dev.svc.cluster.local:8000/api",
        "frontend_url": "https://ui.acme.example.org",
    }
    assert test_config["name"] == "acme-dev tests"


def test_the_published_schema_is_current():
    assert json.loads(SCHEMA_FILE.read_text()) == stack_file_schema(), "run: maestro-deploy schema > config/stack-config.schema.json"


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_satisfies_the_schema(stack):
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    jsonschema.validate(document, stack_file_schema())


def test_the_schema_rejects_a_typo():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"config": {"maestro:componets": {}}}, stack_file_schema())


def test_the_installed_command_runs_without_a_traceback(tmp_path):
    bad = tmp_path / "Pulumi.x.yaml"
    bad.write_text("config:\n  maestro:components: {engine: {replicas: -1}}\n")
    exe = Path(sys.executable).with_name("maestro-deploy")
    result = subprocess.run([str(exe), "check", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: maestro:components.engine.replicas: " in result.stderr


def test_render_exits_quietly(tmp_path):
    """Nothing on stderr: no asyncio noise from the mocks at interpreter exit."""
    exe = Path(sys.executable).with_name("maestro-deploy")
    result = subprocess.run([str(exe), "render", "staging", "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stderr == ""


def render_exit(capsys, *argv) -> tuple[int, str]:
    code = cli.main(["render", *argv])
    return code, capsys.readouterr().err


def test_render_never_touches_files_it_did_not_write(tmp_path, capsys):
    notes = tmp_path / "my-notes.yaml"
    notes.write_text("mine\n")
    code, err = render_exit(capsys, "staging", "--out", str(tmp_path))
    assert code == 2 and err.startswith(f"error: --out: {tmp_path}: holds files that maestro-deploy did not write")
    assert notes.read_text() == "mine\n" and sorted(p.name for p in tmp_path.iterdir()) == ["my-notes.yaml"]
    for owned_by_someone in (ROOT / "stacks", ROOT, Path("/")):
        before = sorted(p.name for p in owned_by_someone.iterdir())
        code, err = render_exit(capsys, "staging", "--out", str(owned_by_someone))
        assert code == 2 and "did not write" in err and "Traceback" not in err
        assert sorted(p.name for p in owned_by_someone.iterdir()) == before


def test_a_render_replaces_its_own_previous_render_whole_and_nothing_else(tmp_path, capsys):
    out, state = tmp_path / "out", str(tmp_path / "state")
    assert cli.main(["render", "dev", "--out", str(out), "--state", state]) == 0
    (out / "my-notes.txt").write_text("mine\n")  # added by hand after the render
    assert cli.main(["render", "engine-only", "--out", str(out)]) == 0
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert "my-notes.txt" in left
    # Nothing of dev's Compose export is left: no compose.yaml, secrets, outputs or htpasswd.
    assert not [p for p in left if p.startswith(("compose", "secrets", "files", "outputs"))], left
    assert {p for p in left if p.endswith(".yaml")} == {p.name for p in out.glob("*.yaml")}
    assert "deployment-engine.yaml" in left and not (out / "secrets").exists()


@pytest.mark.parametrize(
    "target,why",
    [
        ("a-file", "is a file, not a directory"),
        ("a-file/below", "cannot write there (Not a directory)"),
        ("x" * 300, "cannot write there (File name too long)"),
        ("/proc/maestro-render", "cannot write there"),
    ],
)
def test_a_bad_out_target_is_a_clear_error(tmp_path, capsys, target, why):
    (tmp_path / "a-file").write_text("mine\n")
    out = target if target.startswith("/") else str(tmp_path / target)
    code, err = render_exit(capsys, "engine-only", "--out", out)
    assert code == 2 and err.startswith(f"error: --out: {out}: {why}") and "Traceback" not in err
    assert (tmp_path / "a-file").read_text() == "mine\n"


def test_a_stack_name_too_long_for_the_filesystem_is_a_clear_error(capsys):
    code = cli.main(["check", "y" * 300])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.startswith("error: ")


@pytest.mark.parametrize("stack", ["staging", "engine-only", "qf-standalone"])
def test_the_kustomization_lists_every_object_file_and_only_those(tmp_path, stack, stack_outputs_file):
    out = tmp_path / stack
    assert cli.main(["render", stack, "--out", str(out), "--stack-outputs", stack_outputs_file]) == 0
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    objects = sorted(f.name for f in out.glob("*.yaml") if f.name != "kustomization.yaml")
    assert kustomization["resources"] == objects and objects
    assert kustomization["namespace"] == yaml.safe_load((out / objects[0]).read_text())["metadata"].get("namespace", kustomization["namespace"])
    assert (kustomization["apiVersion"], kustomization["kind"]) == ("kustomize.config.k8s.io/v1beta1", "Kustomization")


def test_a_render_is_the_same_bytes_every_time(tmp_path, fresh_evaluations):
    """What GitOps users commit changes only when the stack does."""
    for name in ("a", "b"):
        cli.main(["render", "staging", "--out", str(tmp_path / name)])
    for path in (tmp_path / "a").glob("*.yaml"):
        assert path.read_text() == (tmp_path / "b" / path.name).read_text(), path.name


def test_outputs_show_secrets_before_the_first_export_says_the_value_does_not_exist_yet(tmp_path, capsys):
    state = tmp_path / "state"
    assert cli.main(["outputs", "dev", "--show-secrets", "--state", str(state)]) == 2
    captured = capsys.readouterr()
    assert "error: registry_password: does not exist yet" in captured.err
    assert "placeholder" not in captured.out + captured.err
    # Once an export made it, the real value is shown.
    assert cli.main(["render", "dev", "--out", str(tmp_path / "out"), "--state", str(state)]) == 0
    capsys.readouterr()
    assert cli.main(["outputs", "dev", "--show-secrets", "--state", str(state)]) == 0
    (shown,) = json.loads(capsys.readouterr().out).values()
    assert len(shown["registry_password"]) >= 16 and "placeholder" not in shown["registry_password"]


def test_render_s_help_says_it_writes_compose_too(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "every Kubernetes object, or a Docker stack's compose.yaml" in " ".join(capsys.readouterr().out.split())
