"""Wiring between products is plain data: URLs in env vars and a test config file."""

import yaml
from harness import render_env, stack_env

BASE = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}}
ENGINE_IN_CLUSTER = "http://engine.maestro-test.svc.cluster.local:8000/api"


def config(**components):
    return {**BASE, "maestro:components": components}


def test_frontend_calls_this_stacks_engine_on_its_public_host():
    env = render_env(config(engine={}, frontend={}))
    assert env.deployment("frontend").env["VITE_MAESTRO_API_BASE"] == "http://api.test.example.com/api"
    ingress = env.get("Ingress", "engine")
    assert ingress["spec"]["rules"][0]["host"] == "api.test.example.com"


def test_frontend_public_url_uses_https_when_the_stack_has_tls():
    assert stack_env("staging").deployment("frontend").env["VITE_MAESTRO_API_BASE"] == "https://api.staging.example.com/api"


def test_frontend_backend_url_is_used_verbatim():
    url = "https://api.other-solution.example.com/api"
    env = render_env(config(engine={}, frontend={"backend": {"url": url}}))
    assert env.deployment("frontend").env["VITE_MAESTRO_API_BASE"] == url
    assert stack_env("frontend-custom-backend").deployment("frontend").env["VITE_MAESTRO_API_BASE"] == url
    assert "engine" not in stack_env("frontend-custom-backend").names("Deployment")


def test_hive_gets_the_engines_in_cluster_api_base_and_templates():
    env = render_env(config(engine={"templates_path": "https://git.example.com/t.git"}, hive={}))
    hive = env.deployment("hive").env
    assert hive["MAESTRO_API_BASE"] == ENGINE_IN_CLUSTER
    assert env.deployment("engine").env["MAESTRO_TEMPLATES_PATH"] == "https://git.example.com/t.git"
    assert hive["MAESTRO_TEMPLATES_PATH"] == "/opt/maestro-templates"


def test_hive_can_use_an_engine_outside_the_stack():
    env = render_env(config(hive={"engine": {"url": "https://engine.elsewhere.example.com/api"}, "templates_path": "/srv/t"}))
    assert env.deployment("hive").env["MAESTRO_API_BASE"] == "https://engine.elsewhere.example.com/api"
    assert env.deployment("hive").env["MAESTRO_TEMPLATES_PATH"] == "/srv/t"


def test_engine_reaches_its_database_through_a_secret():
    engine = stack_env("staging").deployment("engine")
    assert engine.env["DATABASE_URL"] == ("secret", "engine-env", "DATABASE_URL")
    assert stack_env("staging").get("Secret", "engine-env")["stringData"] == {"DATABASE_URL": "[secret]"}


def _test_config(env, workload="quality-fabric-runner"):
    job = env.job(workload) if workload.endswith("runner") else env.deployment(workload)
    path = job.env["QF_TEST_CONFIG"]
    (mount,) = [m for m in job.container["volumeMounts"] if m["mountPath"] == path]
    config_map = env.get("ConfigMap", f"{workload}-files")
    return yaml.safe_load(config_map["data"][mount["subPath"]])


def test_quality_fabric_tests_this_stacks_engine_and_frontend_by_default():
    cfg = _test_config(stack_env("staging"))
    assert cfg == {
        "name": "staging tests",
        "target": {
            "api_base": "http://engine.maestro-staging.svc.cluster.local:8000/api",
            # The frontend as a browser loads it: e2e checks CORS from that origin.
            "frontend_url": "https://app.staging.example.com",
        },
        "test_suites": ["integration", "e2e"],
    }


def test_quality_fabric_tests_any_target_it_is_given():
    cfg = _test_config(stack_env("qf-standalone"), "quality-fabric-api")
    assert cfg["name"] == "Other Solution acceptance"
    assert cfg["target"] == {
        "api_base": "https://api.other-solution.example.com/api",
        "frontend_url": "https://app.other-solution.example.com",
    }
    assert not {"engine", "frontend"} & stack_env("qf-standalone").names("Deployment")


def test_quality_fabric_mixes_a_given_url_with_this_stacks_product():
    env = render_env(config(engine={}, frontend={}, **{"quality-fabric": {"target": {"frontend_url": "https://ui.example.org"}}}))
    cfg = _test_config(env)
    assert cfg["target"] == {"api_base": ENGINE_IN_CLUSTER, "frontend_url": "https://ui.example.org"}
    assert cfg["test_suites"] == ["unit", "integration", "e2e"]


def test_quality_fabric_without_a_frontend_tests_the_api_only():
    env = render_env(config(engine={}, **{"quality-fabric": {"test_suites": ["integration"]}}))
    assert _test_config(env)["target"] == {"api_base": ENGINE_IN_CLUSTER}


def test_stack_outputs_name_every_products_urls():
    outputs = stack_env("staging").outputs
    assert outputs["engine_url"] == "https://api.staging.example.com/api"
    # Its pods admit no other namespace, so the in-cluster API is not offered to other stacks.
    assert "engine_internal_url" not in outputs
    assert outputs["frontend_url"] == "https://app.staging.example.com"
    assert outputs["quality_fabric_url"] == "https://qf.staging.example.com"
    assert outputs["registry_url"] == "https://pypi.staging.example.com"
    assert outputs["versions"] == {
        "engine": "1.2.3", "frontend": "1.1.0", "hive": "3.1.0",
        "quality-fabric": "2.0.0", "ml-platform": "0.5.0", "registry": "v2.3.2",
    }


def test_the_in_cluster_api_is_offered_to_the_namespaces_the_engine_admits(capsys):
    from maestro_deploy import cli

    env = render_env({**BASE, "maestro:kubernetes": {**BASE["maestro:kubernetes"], "admit_namespaces": ["team-hive"]}, "maestro:components": {"engine": {}}})
    assert env.outputs["engine_internal_url"] == ENGINE_IN_CLUSTER
    rules = env.network_rules("engine")["ingress"]
    assert {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-hive"}}}], "ports": [{"protocol": "TCP", "port": 8000}]} in rules
    assert cli.main(["check", "staging"]) == 0
    assert "staging: engine_internal_url not offered to other stacks" in capsys.readouterr().out
