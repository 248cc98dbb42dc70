"""Metrics and traces on Kubernetes, wired like any other dependency: a ServiceMonitor per unit
(or scrape annotations), the metrics port open to the cluster's Prometheus only, and every
product sent to the stack's OTLP collector."""

import copy
import json

import pytest
from harness import render_env, stack_env

import cross_checks as cc
from maestro_deploy.config.errors import ConfigError
from maestro_deploy.config.validation import parse_settings

KUBERNETES = {"namespace": "obs", "domain": "obs.example.com", "ingress_class": "nginx"}
ALL = {"engine": {}, "frontend": {}, "hive": {}, "quality-fabric": {}, "ml-platform": {}, "registry": {}}


def rendered(observability, components=ALL, kubernetes=KUBERNETES):
    config = {"maestro:kubernetes": kubernetes, "maestro:components": components}
    if observability is not None:
        config["maestro:observability"] = observability
    return render_env(config, "obs")


def of_kind(env, kind):
    return {o["metadata"]["name"]: o for o in env.objects if o["kind"] == kind}


def container(env, name):
    workloads = {**of_kind(env, "Deployment"), **of_kind(env, "Job")}
    return workloads[name]["spec"]["template"]["spec"]["containers"][0]


def test_a_service_monitor_per_unit_with_metrics_selects_its_service_and_names_its_metrics_port():
    env = stack_env("staging")
    monitors = of_kind(env, "ServiceMonitor")
    # PostgreSQL serves no metrics, and a task serves none: no monitor to scrape nothing. The
    # registry serves them through its exporter, beside pypiserver.
    assert sorted(monitors) == ["engine", "frontend", "hive", "ml-platform", "quality-fabric-api", "quality-fabric-ui", "registry"]
    services = of_kind(env, "Service")
    for name, monitor in monitors.items():
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert monitor["spec"]["endpoints"] == [{"interval": "30s", "path": "/metrics", "port": "metrics"}]
        selected = [s for s, svc in services.items() if monitor["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()]
        assert selected == [name]
        assert {"name": "metrics", "port": 9464, "targetPort": "metrics"} in services[name]["spec"]["ports"]
        assert {"name": "metrics", "containerPort": 9464} in container(env, name)["ports"]
        # The version label changes with every release: a selector never holds it.
        assert "app.kubernetes.io/version" not in monitor["spec"]["selector"]["matchLabels"]
    assert cc.service_monitors_select_services(env.objects) == []


@pytest.mark.parametrize(
    "break_it, reported",
    [
        (lambda m, s: m["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/component": "nothing"}), "ServiceMonitor hive selects no Service"),
        (lambda m, s: s["spec"]["ports"].pop(), "ServiceMonitor hive scrapes port 'metrics', which Service hive does not name"),
    ],
)
def test_a_service_monitor_that_selects_nothing_or_a_missing_port_is_reported(break_it, reported):
    objects = copy.deepcopy(stack_env("staging").objects)
    by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    break_it(by[("ServiceMonitor", "hive")], by[("Service", "hive")])
    assert reported in cc.all_problems(objects, stack_env("staging").outputs["wiring"])


def crd_check():
    """scripts/servicemonitor-check, the gates' check against the pinned CRD schema, in-process."""
    import runpy

    from conftest import ROOT

    script = runpy.run_path(str(ROOT / "scripts" / "servicemonitor-check"))
    return script["problems"], script["load_validator"]()


def test_every_service_monitor_is_valid_against_the_pinned_crd_schema():
    problems, validator = crd_check()
    monitors = of_kind(stack_env("staging"), "ServiceMonitor")
    assert monitors and all(list(problems(validator, m)) == [] for m in monitors.values())


@pytest.mark.parametrize(
    "break_it, reported",
    [
        (lambda m: m["spec"]["endpoints"][0].update(port=9464), "spec.endpoints.0.port: 9464 is not of type 'string'"),
        (lambda m: m["spec"]["endpoints"][0].update(scrapeIntervall="5s"), "spec.endpoints.0: Additional properties are not allowed ('scrapeIntervall' was unexpected)"),
        (lambda m: m["spec"].update(selectr={}), "spec: Additional properties are not allowed ('selectr' was unexpected)"),
        (lambda m: m["spec"].pop("selector"), "spec: 'selector' is a required property"),
        (lambda m: m.update(kind="ServiceMonitr"), "kind: 'ServiceMonitr' is not one of ['ServiceMonitor']"),
    ],
    ids=["port-an-int", "unknown-endpoint-field", "unknown-spec-field", "no-selector", "wrong-kind"],
)
def test_a_service_monitor_broken_by_hand_fails_the_crd_schema(break_it, reported):
    problems, validator = crd_check()
    monitor = copy.deepcopy(of_kind(stack_env("staging"), "ServiceMonitor")["hive"])
    break_it(monitor)
    assert list(problems(validator, monitor)) == [reported]


def test_only_the_prometheus_namespace_reaches_the_metrics_port_and_nothing_else_does():
    env = stack_env("staging")
    for name in of_kind(env, "ServiceMonitor"):
        ingress = of_kind(env, "NetworkPolicy")[name]["spec"]["ingress"]
        to_metrics = [r for r in ingress if {"protocol": "TCP", "port": 9464} in r["ports"]]
        assert to_metrics == [
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"protocol": "TCP", "port": 9464}]}
        ]
        # ... and Prometheus reaches no other port of the unit.
        others = [r for r in ingress if r not in to_metrics]
        assert all(source != to_metrics[0]["from"][0] for r in others for source in r["from"])


def test_every_product_is_sent_to_the_otlp_collector_and_may_reach_it():
    env = stack_env("staging")
    units = ["engine", "frontend", "hive", "quality-fabric-api", "quality-fabric-ui", "quality-fabric-runner", "ml-platform", "registry"]
    for name in units:
        env_vars = {e["name"]: e.get("value") for e in container(env, name)["env"]}
        version = container(env, name)["image"].rsplit(":", 1)[1]
        assert env_vars["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.monitoring.svc:4317"
        assert env_vars["OTEL_SERVICE_NAME"] == name
        assert env_vars["OTEL_RESOURCE_ATTRIBUTES"] == f"service.version={version},deployment.environment=staging"
        egress = of_kind(env, "NetworkPolicy")[name]["spec"]["egress"]
        # An in-cluster Service by its full name: its namespace, on its port, and no address range.
        assert {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"protocol": "TCP", "port": 4317}]} in egress
        assert not any("ipBlock" in t and r["ports"] == [{"protocol": "TCP", "port": 4317}] for r in egress for t in r["to"])
    # PostgreSQL speaks no OpenTelemetry, and may not call out.
    assert not any(e["name"].startswith("OTEL_") for e in container(env, "engine-db")["env"])


def test_a_short_collector_name_may_be_a_namespace_or_a_public_host_and_both_are_let_out():
    env = rendered({"otlp_endpoint": "http://otel-collector.monitoring:4317"}, {"engine": {}})
    egress = of_kind(env, "NetworkPolicy")["engine"]["spec"]["egress"]
    ports = [{"protocol": "TCP", "port": 4317}]
    assert {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}], "ports": ports} in egress
    assert {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": ports} in egress


def test_without_the_operator_pods_carry_scrape_annotations_instead():
    env = stack_env("qf-standalone")
    assert of_kind(env, "ServiceMonitor") == {}
    annotations = of_kind(env, "Deployment")["quality-fabric-api"]["spec"]["template"]["metadata"]["annotations"]
    assert {k: v for k, v in annotations.items() if k.startswith("prometheus.io/")} == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9464",
        "prometheus.io/path": "/metrics",
    }
    # The runner is a task: nothing to scrape.
    assert "prometheus.io/scrape" not in of_kind(env, "Job")["quality-fabric-runner"]["spec"]["template"]["metadata"].get("annotations", {})
    # The default namespace of the cluster's Prometheus is let in, on the metrics port.
    ingress = of_kind(env, "NetworkPolicy")["quality-fabric-api"]["spec"]["ingress"]
    assert {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"protocol": "TCP", "port": 9464}]} in ingress


def test_without_observability_nothing_is_wired():
    env = rendered(None)
    assert of_kind(env, "ServiceMonitor") == {}
    for name, deployment in of_kind(env, "Deployment").items():
        pod = deployment["spec"]["template"]
        assert [p["name"] for p in pod["spec"]["containers"][0].get("ports", [])] in (["http"], ["tcp"]), name
        assert not any(k.startswith("prometheus.io/") for k in pod["metadata"].get("annotations", {}))
        assert not any(e["name"].startswith("OTEL_") for e in pod["spec"]["containers"][0]["env"])


@pytest.mark.parametrize(
    "config, problem",
    [
        ({"maestro:platform": "docker", "maestro:observability": {"service_monitors": True}}, "maestro:observability.service_monitors: only for maestro:platform kubernetes; this stack runs on docker"),
        ({"maestro:platform": "docker", "maestro:observability": {"prometheus_namespace": "monitoring"}}, "maestro:observability.prometheus_namespace: only for maestro:platform kubernetes; this stack runs on docker"),
        ({"maestro:kubernetes": {"namespace": "x"}, "maestro:observability": {"metrics": {"bundled": True}}}, "maestro:observability.metrics: only for maestro:platform docker; this stack runs on kubernetes"),
        ({"maestro:kubernetes": {"namespace": "x"}, "maestro:observability": {"otlp_endpoint": "otel-collector:4317"}}, "maestro:observability.otlp_endpoint:"),
        ({"maestro:kubernetes": {"namespace": "x"}, "maestro:observability": {"prometheus_namespace": "Monitoring"}}, "maestro:observability.prometheus_namespace:"),
        ({"maestro:kubernetes": {"namespace": "x"}, "maestro:observability": {"service_monitor": True}}, "maestro:observability.service_monitor:"),
        ({"maestro:kubernetes": {"namespace": "x"}, "maestro:observability": {"metrics": {"bundle": True}}}, "maestro:observability.metrics.bundle:"),
    ],
)
def test_every_observability_key_is_checked(config, problem):
    with pytest.raises(ConfigError) as err:
        parse_settings({"maestro:components": {"engine": {}}, **config})
    assert any(line.startswith(problem) for line in str(err.value).splitlines()), str(err.value)


def test_env_may_not_shadow_the_telemetry_wiring():
    with pytest.raises(ConfigError) as err:
        parse_settings({"maestro:kubernetes": {"namespace": "x"}, "maestro:components": {"hive": {"env": {"OTEL_SERVICE_NAME": "h"}}}})
    assert "maestro:components.hive.env.OTEL_SERVICE_NAME: set by the wiring" in str(err.value)


# --- Docker: a Prometheus of the stack's own ---

def test_dev_runs_a_prometheus_that_scrapes_exactly_the_units_that_serve_metrics(tmp_path):
    import yaml

    from maestro_deploy import cli

    cli.main(["render", "dev", "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state")])
    compose = yaml.safe_load((tmp_path / "out/compose.yaml").read_text())["services"]
    prometheus = compose["prometheus"]
    config = yaml.safe_load((tmp_path / "out/files/prometheus/etc/prometheus/prometheus.yml").read_text())
    scraped = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    # Generated from the units: every serving unit with a metrics endpoint, and Prometheus itself;
    # the registry through its exporter; not PostgreSQL or the runner (a task), which serve none.
    assert scraped == {
        name: [f"{name}:{9090 if name == 'prometheus' else 9464}"]
        for name in ("engine", "frontend", "hive", "quality-fabric-api", "quality-fabric-ui", "ml-platform", "registry", "prometheus")
    }
    assert config["global"]["scrape_interval"] == "5s"
    # Non-root, read-only root, its data on a volume of its own; the config read-only.
    assert (prometheus["user"], prometheus["read_only"]) == ("10001:10001", True)
    assert "maestro-dev-prometheus-data-0:/prometheus" in prometheus["volumes"]
    assert "./files/prometheus/etc/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    assert prometheus["build"]["context"].endswith("images/prometheus")
    outputs = json.loads((tmp_path / "out/outputs.json").read_text())
    assert outputs["prometheus_url"].endswith(":9090")
    assert prometheus["ports"] == ["127.0.0.1:9090:9090"]


def test_prometheus_data_is_protected_and_a_changed_unit_list_recreates_it():
    env = stack_env("dev")
    volume = next(r for r in env.run.registered if r.type == "docker:index/volume:Volume" and r.name == "prometheus-data-0")
    assert volume.protect and volume.retain_on_delete

    def digest(config):
        container = next(r for r in render_env(config, "dev").run.registered if r.type == "docker:index/container:Container" and r.name == "prometheus")
        return next(e for e in container.inputs["envs"] if e.startswith("PROMETHEUS_CONFIG_SHA256="))

    observed = {"maestro:platform": "docker", "maestro:observability": {"metrics": {"bundled": True}}}
    # Prometheus reads its config once: the container must change when the scraped units do.
    assert digest({**observed, "maestro:components": {"engine": {}}}) != digest({**observed, "maestro:components": {"engine": {}, "hive": {}}})


def test_without_bundled_metrics_docker_runs_no_prometheus():
    env = render_env({"maestro:platform": "docker", "maestro:components": {"engine": {}}}, "plain")
    assert "prometheus_url" not in env.outputs
    assert not [r for r in env.run.registered if r.name == "prometheus"]


def test_the_stack_endpoints_of_the_wiring_name_real_settings_and_variables():
    from maestro_components.options import Observability
    from maestro_components.products.facts import PRODUCTS
    from maestro_components.wiring import STACK_ENDPOINTS, env_of

    for endpoint in STACK_ENDPOINTS:
        section, key = endpoint.setting.split(".")
        assert section == "observability" and key in Observability.model_fields
        for product in PRODUCTS.values():
            assert env_of(endpoint) <= product.wired_env
    # What the collector's entry says lands on a product is exactly what a product gets.
    env = stack_env("staging")
    assert {e["name"] for e in container(env, "hive")["env"] if e["name"].startswith("OTEL_")} == env_of(STACK_ENDPOINTS[0])


def test_the_registry_runs_pypiserver_through_its_exporter_which_serves_the_catalogs_metrics_port():
    from maestro_components.catalog import load_catalog
    from maestro_components.products import registry_exporter
    from maestro_components.products.registry import EXPORTER, exporter_source

    assert load_catalog()["registry"].units["pypi"].metrics.port == registry_exporter.METRICS_PORT
    env = stack_env("staging")
    pypi = container(env, "registry")
    assert pypi["command"] == ["python3", EXPORTER]
    assert pypi["args"][0] == "run" and pypi["args"][-1] == "/data/packages"  # pypiserver's own arguments
    mounted = [m for m in pypi["volumeMounts"] if m["mountPath"] == EXPORTER]
    assert mounted and mounted[0]["readOnly"]
    files = of_kind(env, "ConfigMap")["registry-files"]["data"]
    assert files[mounted[0]["subPath"]] == exporter_source()


def test_the_registry_exporter_counts_requests_by_route_and_status_and_serves_the_packages_held():
    from prometheus_client.parser import text_string_to_metric_families

    from maestro_components.products.registry_exporter import CountedApp

    class Route:
        rule = "/simple/<project>/"

    def pypiserver(environ, start_response):
        environ["bottle.route"] = Route()  # what bottle leaves there when a route matched
        start_response("401 Unauthorized" if environ["REQUEST_METHOD"] == "POST" else "200 OK", [])
        return [b""]

    def unmatched(environ, start_response):
        start_response("404 Not Found", [])
        return [b""]

    counted = CountedApp(pypiserver)
    for method in ("GET", "GET", "POST"):
        counted({"REQUEST_METHOD": method}, lambda *a: None)
    counted.app = unmatched
    counted({"REQUEST_METHOD": "GET"}, lambda *a: None)
    families = {f.name: f for f in text_string_to_metric_families(counted.exposition(3))}
    assert [s.value for s in families["maestro_registry_packages"].samples] == [3]
    requests = {(s.labels["route"], s.labels["method"], s.labels["status"]): s.value for s in families["maestro_http_requests"].samples}
    assert requests == {("/simple/<project>/", "GET", "200"): 2, ("/simple/<project>/", "POST", "401"): 1, ("unmatched", "GET", "404"): 1}
