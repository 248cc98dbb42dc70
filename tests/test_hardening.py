"""Input that used to crash, slip through or change meaning: each an explained exit 2, or
handled as a user means it."""

import json
import os
import stat

import pytest
import yaml
from conftest import ROOT

from maestro_deploy import cli


def run(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err


def stack_file(tmp_path, name: str, config: dict) -> str:
    path = tmp_path / f"Pulumi.{name}.yaml"
    # LibYAML's emitter: the pure-Python one takes seconds to write a file-sized value.
    path.write_text(yaml.dump({"config": config}, Dumper=yaml.CSafeDumper))
    return str(path)


DOCKER_ML = {"maestro:platform": "docker", "maestro:components": {"ml-platform": {}}}


@pytest.mark.parametrize("name", ["My Stack", "a" * 64, "Upper", "dots.in.name"])
@pytest.mark.parametrize("command", ["check", "render"])
def test_a_stack_name_that_cannot_name_containers_and_labels_is_refused(tmp_path, capsys, name, command):
    path = stack_file(tmp_path, name, DOCKER_ML)
    argv = [command, path] + (["--out", str(tmp_path / "out")] if command == "render" else [])
    code, err = run(capsys, *argv)
    assert code == 2 and err.startswith("error: stack: ") and "expected a DNS label" in err
    assert not (tmp_path / "out").exists()


def test_a_provider_key_holding_a_date_is_valid_input(tmp_path, capsys):
    path = tmp_path / "Pulumi.dated.yaml"
    path.write_text("config:\n  kubernetes:expiry: 2024-01-01\n  maestro:platform: docker\n  maestro:components: {ml-platform: {}}\n")
    code, err = run(capsys, "render", str(path), "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state"))
    assert code == 0, err


@pytest.mark.parametrize(
    "content,why",
    [
        (None, "not a regular file (--stack-outputs file)"),
        ("[" * 10000 + "]" * 10000, "nested too deeply"),
        (json.dumps({"organization/maestro/engine-only": {"engine_url": "https://api.x.example.com/api", "versions": {"engine": "1.2.3\n"}}}), "versions: expected"),
        (json.dumps({"organization/maestro/engine-only": {"engine_url": "https://api.x.example.com:99999/api"}}), "is not an http(s) URL"),
    ],
)
def test_a_hostile_stack_outputs_file_is_named(tmp_path, capsys, content, why):
    outputs = tmp_path / "outputs"
    if content is None:
        outputs.mkdir()
    else:
        outputs.write_text(content)
    code, err = run(capsys, "check", "frontend-on-remote-engine", "--stack-outputs", str(outputs))
    assert code == 2 and why in err


def test_a_dollar_in_an_env_value_reaches_the_container_as_written(tmp_path, capsys):
    config = {"maestro:platform": "docker", "maestro:components": {"ml-platform": {"env": {"DATA_DIR": "$HOME/data", "PRICE": "5$"}}}}
    out = tmp_path / "out"
    assert run(capsys, "render", stack_file(tmp_path, "dollar", config), "--out", str(out), "--state", str(tmp_path / "s"))[0] == 0
    text = (out / "compose.yaml").read_text()
    assert "DATA_DIR: $$HOME/data" in text and "PRICE: 5$$" in text


def test_secret_files_in_the_compose_export_are_owner_only(tmp_path, capsys):
    out = tmp_path / "out"
    run(capsys, "render", "dev", "--out", str(out), "--state", str(tmp_path / "state"))
    for path in (out / "secrets").rglob("*"):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        elif path.suffix == ".env":
            assert mode == 0o600, path  # read by Compose, as the user who runs it
        else:
            # Read by the container's user through a bind mount: theirs alone.
            assert (mode, os.stat(path).st_uid) == (0o400, 10001) if os.geteuid() == 0 else mode == 0o644, path


def test_a_secret_with_a_newline_cannot_write_a_second_env_line(tmp_path, capsys):
    config = {"maestro:platform": "docker", "maestro:components": {"engine": {"database": {"url": "postgresql://m:p@db/x\nEVIL=1"}}}}
    code, err = run(capsys, "check", stack_file(tmp_path, "newline", config))
    assert code == 2 and "maestro:components.engine.database.url: holds a control character" in err and "EVIL" not in err


def test_render_says_each_warning_once(tmp_path, capsys):
    code, err = run(capsys, "render", "frontend-custom-backend", "--out", str(tmp_path / "out"))
    assert code == 0 and len(err.splitlines()) == 1 and err.startswith("warning: maestro:components.frontend.backend: ")


def test_a_kubernetes_stack_renders_for_docker_with_its_replicas_dropped_and_said(tmp_path, capsys):
    out = tmp_path / "out"
    code, err = run(capsys, "render", "engine-only", "--platform", "docker", "--out", str(out), "--state", str(tmp_path / "s"))
    assert code == 0, err
    assert "warning: maestro:components.engine.replicas: dropped on the docker platform: one container per unit" in err
    assert "engine" in yaml.safe_load((out / "compose.yaml").read_text())["services"]


def test_a_product_with_no_settings_is_deployed_with_its_defaults(tmp_path, capsys):
    path = tmp_path / "Pulumi.bare.yaml"
    path.write_text("config:\n  maestro:platform: docker\n  maestro:components:\n    engine: {}\n    hive:\n")
    code, _ = run(capsys, "check", str(path))
    assert code == 0
    assert cli.main(["check", str(path)]) == 0 and "engine, hive" in capsys.readouterr().out


def test_an_ephemeral_target_with_credentials_is_refused_without_echoing_them(tmp_path, capsys):
    code, err = run(capsys, "ephemeral", "run", "--api-base", "https://u:Zq-very-secret@api.example.com/api", "--results", str(tmp_path))
    assert code == 2 and "Zq-very-secret" not in err and "quality-fabric.target.api_base" in err


def test_the_readme_recipe_for_a_vm_runs(tmp_path, capsys):
    """`render engine-only --platform docker` is the recipe for one product on a VM (docs/recipes.md)."""
    assert "maestro-deploy render <stack> --platform docker --out DIR" in (ROOT / "docs/recipes.md").read_text()
    assert run(capsys, "render", "engine-only", "--platform", "docker", "--out", str(tmp_path / "o"), "--state", str(tmp_path / "s"))[0] == 0


def test_an_env_value_the_size_of_a_file_is_refused(tmp_path, capsys):
    config = {"maestro:platform": "docker", "maestro:components": {"ml-platform": {"env": {"BLOB": "x" * 5_000_000}}}}
    code, err = run(capsys, "check", stack_file(tmp_path, "blob", config))
    assert code == 2 and "maestro:components.ml-platform.env.BLOB: 5000005 bytes; at most 131072 (NAME=value" in err


def test_yaml_merge_keys_are_valid_input(tmp_path, capsys):
    path = tmp_path / "Pulumi.merged.yaml"
    path.write_text(
        "defaults: &defaults {resources: {limits: {cpu: 500m, memory: 512Mi}}, env: {LOG_LEVEL: info}}\n"
        "config:\n  maestro:platform: docker\n  maestro:components:\n"
        "    engine: {<<: *defaults, env: {LOG_LEVEL: debug}}\n    ml-platform: {<<: *defaults}\n"
    )
    out = tmp_path / "out"
    code, err = run(capsys, "render", str(path), "--out", str(out), "--state", str(tmp_path / "s"))
    assert code == 0, err
    services = yaml.safe_load((out / "compose.yaml").read_text())["services"]
    assert services["engine"]["environment"]["LOG_LEVEL"] == "debug" and services["ml-platform"]["environment"]["LOG_LEVEL"] == "info"
    assert services["ml-platform"]["cpus"] == 0.5


@pytest.mark.parametrize("cpu,cpus", [(0.5, 0.5), (2, 2.0)])
def test_cpu_as_a_number_is_valid_input(tmp_path, capsys, cpu, cpus):
    config = {"maestro:platform": "docker", "maestro:components": {"ml-platform": {"resources": {"limits": {"cpu": cpu}}}}}
    out = tmp_path / "out"
    code, err = run(capsys, "render", stack_file(tmp_path, "cpu", config), "--out", str(out), "--state", str(tmp_path / "s"))
    assert code == 0, err
    assert yaml.safe_load((out / "compose.yaml").read_text())["services"]["ml-platform"]["cpus"] == cpus


def test_an_existing_volume_named_like_reports_is_the_users_volume(tmp_path, capsys):
    config = {"maestro:platform": "docker", "maestro:components": {"ml-platform": {"storage": {"existing": "team-reports"}}}}
    out = tmp_path / "out"
    code, err = run(capsys, "render", stack_file(tmp_path, "reports", config), "--out", str(out), "--state", str(tmp_path / "s"))
    assert code == 0, err
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    (mount,) = compose["services"]["ml-platform"]["volumes"]
    assert mount.startswith("team-reports:") and compose["volumes"]["team-reports"] == {"name": "team-reports", "external": True}
    assert not (out / "reports").exists()


TWO_ENGINES = {
    "acme/maestro/engine-prod": {"engine_url": "https://api.prod.example.com/api", "versions": {"engine": "1.2.3"}},
    "acme/maestro/engine-next": {"engine_url": "https://api.next.example.com/api", "versions": {"engine": "2.0.0"}},
}


@pytest.mark.parametrize(
    "frontend,hive,problem",
    [
        (("2.0.0", "engine-next"), ("3.1.0", "engine-prod"), None),
        (("1.1.0", "engine-prod"), ("3.1.0", "engine-next"), "hive 3.1.0 requires engine >=1.2.0 <2.0.0, but engine 2.0.0 (in stack acme/maestro/engine-next)"),
    ],
)
def test_each_caller_is_checked_against_the_engine_it_calls(tmp_path, capsys, frontend, hive, problem):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(TWO_ENGINES))
    config = {
        "maestro:kubernetes": {"namespace": "m"},
        "maestro:components": {
            "frontend": {"version": frontend[0], "backend": {"stack": f"acme/maestro/{frontend[1]}", "output": "engine_url"}},
            "hive": {"version": hive[0], "engine": {"stack": f"acme/maestro/{hive[1]}", "output": "engine_url"}},
        },
    }
    code, err = run(capsys, "check", stack_file(tmp_path, "two", config), "--stack-outputs", str(outputs))
    assert (code, problem is None or problem in err) == (0 if problem is None else 2, True), err


def test_a_backend_that_is_the_stacks_own_engine_is_wired_as_its_own(tmp_path, capsys):
    config = {"maestro:platform": "docker", "maestro:components": {"engine": {}, "frontend": {"backend": "http://localhost:8000/api"}}}
    out = tmp_path / "out"
    code, err = run(capsys, "render", stack_file(tmp_path, "own", config), "--out", str(out), "--state", str(tmp_path / "s"))
    assert code == 0 and "outside" not in err, err
    services = yaml.safe_load((out / "compose.yaml").read_text())["services"]
    assert services["engine"]["environment"]["MAESTRO_CORS_ORIGINS"] == "http://localhost:8080"
