"""Secrets travel only as Pulumi secrets and appear in no rendered output; generated
credentials are stable; data is protected; Docker listens on loopback unless told."""

import json
import re

import pytest
import yaml
from conftest import DOCKER_STACKS, STACKS
from harness import chained_outputs, render_env, stack_env
from pulumi.runtime import rpc

from maestro_components.products.registry import htpasswd_line
from maestro_deploy import cli
from maestro_deploy.offline.compose import compose_export
from maestro_deploy.program.graph import mermaid
from maestro_deploy.offline.render import manifests, run_stack
from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

KNOWN = {
    "engine-db-password": "KNOWN-db-password-0001",
    "registry-password": "KNOWN-registry-password-0002",
}
GIVEN = {
    "database": "postgresql://maestro:KNOWN-db-url-0003@db.example.com:5432/maestro",
    "registry": "KNOWN-registry-given-0004",
    "hive_token": "KNOWN-hive-token-0005",
    "qf_token": "KNOWN-qf-token-0006",
    "tls_key": "-----BEGIN PRIVATE KEY-----KNOWN-tls-key-0007",
}
SECRETS = list(KNOWN.values()) + list(GIVEN.values()) + ["KNOWN-db-url-0003"]


def everything_secret(platform: str) -> dict:
    """A stack that takes every secret the contract knows, as the Pulumi CLI hands them over."""
    config = {
        "maestro:components": {
            "engine": {"database": {"url": GIVEN["database"]}},
            "frontend": {},
            "hive": {"api_token": GIVEN["hive_token"]},
            "quality-fabric": {"target": {"api_token": GIVEN["qf_token"]}},
            "registry": {"password": GIVEN["registry"]},
            "ml-platform": {},
        }
    }
    if platform == "kubernetes":
        config["maestro:kubernetes"] = {
            "namespace": "secrets",
            "domain": "s.example.com",
            "tls": {"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "key": GIVEN["tls_key"]},
        }
    else:
        config["maestro:platform"] = "docker"
    return config


def rendered_text(run) -> str:
    """Everything a user or a tool can read of a run: manifests, Compose, outputs, graph."""
    parts = [yaml.safe_dump_all(manifests(run))]
    export = compose_export(run)
    parts.append(yaml.safe_dump(export.compose))
    parts += [content for path, (content, _) in export.files.items() if not path.startswith("secrets/")]
    parts.append(json.dumps(run.shown_outputs(), default=str))
    parts.append(mermaid("s", run.outputs["wiring"]))
    return "\n".join(parts)


def assert_no_secret_in(text: str) -> None:
    for value in SECRETS:
        assert value not in text, f"{value} leaked"


@pytest.mark.parametrize("stack", STACKS)
def test_no_stack_shows_a_generated_password_anywhere(stack):
    config = read_stack_config(resolve_stack_path(stack)[1])
    run = run_stack(stack, config, generated=dict(KNOWN), stack_outputs=chained_outputs())
    assert_no_secret_in(rendered_text(run))


@pytest.mark.parametrize("platform", ["kubernetes", "docker"])
def test_secrets_given_in_config_show_nowhere_but_reach_their_workloads(platform):
    run = run_stack("s", everything_secret(platform), ["maestro:components", "maestro:kubernetes"], generated=dict(KNOWN))
    assert_no_secret_in(rendered_text(run))
    # ...and each reaches its workload, wrapped as a secret all the way.
    holders = [r for r in run.registered if r.type in ("kubernetes:core/v1:Secret", "docker:index/container:Container")]
    revealed = json.dumps([rpc.unwrap_rpc_secret(json.loads(json.dumps(r.inputs, default=_reveal))) for r in holders])
    reaching = [GIVEN["database"], GIVEN["hive_token"], GIVEN["qf_token"], json.dumps(htpasswd_line("maestro", GIVEN["registry"]))[1:-1]]
    reaching += [GIVEN["tls_key"]] if platform == "kubernetes" else []  # TLS is for an Ingress
    for value in reaching:
        assert value in revealed, value
    for r in run.registered:
        if r.type not in ("kubernetes:core/v1:Secret", "docker:index/container:Container", "random:index/randomPassword:RandomPassword"):
            assert not any(v in json.dumps(r.inputs, default=str) for v in SECRETS), f"{r.type} {r.name}"


def _reveal(value):
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else str(value)


def test_every_kubernetes_secret_value_is_a_pulumi_secret():
    run = run_stack("s", everything_secret("kubernetes"), ["maestro:components", "maestro:kubernetes"], generated=dict(KNOWN))
    secrets = [r for r in run.registered if r.type == "kubernetes:core/v1:Secret"]
    assert {r.name for r in secrets} >= {"engine-env", "hive-env", "quality-fabric-runner-env", "registry-secret-files", "maestro-tls"}
    for r in secrets:
        data = r.inputs["stringData"]
        values = rpc.unwrap_rpc_secret(data) if rpc.is_rpc_secret(data) else data
        assert all(rpc.is_rpc_secret(v) or rpc.is_rpc_secret(data) for v in values.values()), r.name
    (tls,) = [r for r in secrets if r.name == "maestro-tls"]
    assert tls.inputs["type"] == "kubernetes.io/tls"


def test_the_cli_prints_no_secret(tmp_path, capsys):
    """A stack file holds secrets encrypted; the tools never print what stands for them either."""
    path = tmp_path / "Pulumi.enc.yaml"
    config = {k: v for k, v in everything_secret("kubernetes").items()}
    config["maestro:components"]["engine"]["database"]["url"] = {"secure": "v1:AAAA:KNOWN-ciphertext-0008"}
    config["maestro:components"]["registry"]["password"] = {"secure": "v1:AAAA:KNOWN-ciphertext-0009"}
    config["maestro:components"]["hive"]["api_token"] = {"secure": "v1:AAAA:KNOWN-ciphertext-0010"}
    config["maestro:components"]["quality-fabric"]["target"]["api_token"] = {"secure": "v1:AAAA:KNOWN-ciphertext-0011"}
    config["maestro:kubernetes"]["tls"]["key"] = {"secure": "v1:AAAA:KNOWN-ciphertext-0012"}
    path.write_text(yaml.safe_dump({"config": config}))
    for argv in (["check", str(path)], ["render", str(path), "--out", str(tmp_path / "out")], ["graph", str(path)]):
        assert cli.main(argv) == 0, capsys.readouterr().err
    printed = "".join(capsys.readouterr()) + "".join(p.read_text() for p in (tmp_path / "out").glob("*.yaml"))
    assert "KNOWN-ciphertext" not in printed


def test_generated_credentials_are_stable_across_renders(fresh_evaluations):
    """Their inputs never change, so `pulumi up` never replaces them: the value in state stays."""
    first = {r.name: r.inputs for r in stack_env("staging").run.registered if r.type == "random:index/randomPassword:RandomPassword"}
    rerun = run_stack("staging", read_stack_config(resolve_stack_path("staging")[1]), stack_outputs=chained_outputs())
    again = {r.name: r.inputs for r in rerun.registered if r.type == "random:index/randomPassword:RandomPassword"}
    assert set(first) == {"engine-db-password", "registry-password"}
    assert first == again
    assert all("keepers" not in inputs for inputs in first.values())


@pytest.mark.parametrize("stack", STACKS)
def test_every_persistent_volume_is_protected_and_retained(stack):
    volumes = [r for r in stack_env(stack).run.registered if r.type in ("kubernetes:core/v1:PersistentVolumeClaim", "docker:index/volume:Volume") and not r.name.endswith("-reports")]
    for volume in volumes:
        assert volume.protect and volume.retain_on_delete, volume.name
    nothing_else = [r for r in stack_env(stack).run.registered if (r.protect or r.retain_on_delete) and r not in volumes]
    assert nothing_else == []


def test_the_renamed_product_keeps_its_resources_through_an_alias():
    (component,) = stack_env("staging").registered("maestro:ml-platform:MlPlatform")
    assert any("maestro:synth:Synth" in alias for alias in component.aliases), component.aliases


@pytest.mark.parametrize("stack", DOCKER_STACKS)
def test_docker_stacks_listen_on_loopback_only(stack):
    for r in stack_env(stack).run.registered:
        for port in r.inputs.get("ports", []) if r.type == "docker:index/container:Container" else []:
            assert port["ip"] == "127.0.0.1", r.name


def test_the_compose_export_listens_on_loopback_only(tmp_path):
    cli.main(["render", "dev", "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state")])
    compose = yaml.safe_load((tmp_path / "out/compose.yaml").read_text())
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published and all(re.match(r"^127\.0\.0\.1:\d+:\d+$", p) for p in published)
