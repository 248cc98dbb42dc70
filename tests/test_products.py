"""Every product: what it runs, with the catalog's defaults and the stack's overrides."""

import pytest
from harness import render_env, stack_env

from maestro_components.catalog import load_catalog

BASE = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}}

# product key -> (its workloads by kind and name)
WORKLOADS = {
    "engine": [("Deployment", "engine"), ("Deployment", "engine-db")],
    "frontend": [("Deployment", "frontend")],
    "hive": [("Deployment", "hive")],
    "quality-fabric": [
        ("Deployment", "quality-fabric-api"),
        ("Deployment", "quality-fabric-ui"),
        ("Job", "quality-fabric-runner"),
    ],
    "ml-platform": [("Deployment", "ml-platform")],
    "registry": [("Deployment", "registry")],
}


def config(**components):
    return {**BASE, "maestro:components": components}


@pytest.mark.parametrize("product", sorted(WORKLOADS))
def test_every_workload_carries_the_recommended_labels(product):
    env = stack_env("staging")
    for kind, name in WORKLOADS[product]:
        labels = env.get(kind, name)["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == product
        assert labels["app.kubernetes.io/part-of"] == "maestro"
        assert labels["app.kubernetes.io/component"]
        template_labels = env.get(kind, name)["spec"]["template"]["metadata"]["labels"]
        assert template_labels["app.kubernetes.io/name"] == product


def test_quality_fabric_workloads_are_told_apart_by_component():
    env = stack_env("staging")
    components = {env.get(k, n)["metadata"]["labels"]["app.kubernetes.io/component"] for k, n in WORKLOADS["quality-fabric"]}
    assert components == {"api", "ui", "runner"}


@pytest.mark.parametrize("product", sorted(WORKLOADS))
def test_a_product_alone_deploys_only_its_own_workloads(product):
    settings = {"engine": {}} if product in ("frontend", "hive", "quality-fabric") else {}
    own = {"test_suites": ["integration"]} if product == "quality-fabric" else {}
    env = render_env(config(**settings, **{product: own}))
    expected = set(WORKLOADS[product]) | ({("Deployment", "engine"), ("Deployment", "engine-db")} if settings else set())
    found = {("Deployment", n) for n in env.names("Deployment")} | {("Job", n) for n in env.names("Job")}
    assert found == expected


@pytest.mark.parametrize("product", sorted(WORKLOADS))
def test_defaults_come_from_the_catalog(product):
    catalog = load_catalog()[product]
    env = stack_env("staging")
    kind, name = WORKLOADS[product][0]
    unit_name = next(iter(catalog.units))
    unit = catalog.units[unit_name]
    workload = env.get(kind, name)
    container = workload["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{unit.image}:{catalog.version}"
    assert container["resources"] == unit.resources
    if unit.health_path:
        assert container["readinessProbe"]["httpGet"]["path"] == unit.health_path
        # Alive is not healthy: liveness asks only that the port answers (issue: a database
        # outage must not restart the engine).
        assert container["livenessProbe"]["tcpSocket"] == {"port": "http"}
        assert container["ports"][0]["containerPort"] == unit.port


def test_version_image_replicas_resources_and_env_override_the_catalog():
    env = render_env(
        config(
            engine={
                "version": "1.3.0",
                "replicas": 4,
                "resources": {"limits": {"memory": "2Gi"}},
                "env": {"LOG_LEVEL": "debug"},
            },
            hive={"image": "registry.example.com/acme/hive@sha256:" + "a" * 64},
        )
    )
    engine = env.deployment("engine")
    assert engine.container["image"].endswith("maestro-engine:1.3.0")
    assert engine.labels["app.kubernetes.io/version"] == "1.3.0"
    assert engine.replicas == 4
    assert engine.container["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    assert engine.container["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert engine.env["LOG_LEVEL"] == "debug"
    assert env.deployment("hive").container["image"] == "registry.example.com/acme/hive@sha256:" + "a" * 64


def test_an_image_override_reaches_every_unit_of_a_product():
    env = render_env(config(engine={}, frontend={}, **{"quality-fabric": {"image": "reference:1"}}))
    for kind, name in WORKLOADS["quality-fabric"]:
        assert env.get(kind, name)["spec"]["template"]["spec"]["containers"][0]["image"] == "reference:1"


@pytest.mark.parametrize(
    "product, claim, mount",
    [
        ("engine", "engine-db-data-0", "/var/lib/postgresql/data"),
        ("ml-platform", "ml-platform-data-0", "/var/lib/maestro-ml/artifacts"),
        ("registry", "registry-data-0", "/data/packages"),
    ],
)
def test_products_that_keep_data_get_a_persistent_volume(product, claim, mount):
    env = stack_env("staging")
    pvc = env.get("PersistentVolumeClaim", claim)
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    workload = env.deployment(claim.removesuffix("-data-0"))
    volumes = {v["name"]: v for v in workload.pod["volumes"]}
    mounted = [m for m in workload.container["volumeMounts"] if m["mountPath"] == mount]
    assert mounted and volumes[mounted[0]["name"]]["persistentVolumeClaim"]["claimName"] == claim
    # Old and new pods cannot share a ReadWriteOnce volume.
    assert workload.manifest["spec"]["strategy"] == {"type": "Recreate"}


def test_storage_size_and_class_come_from_config():
    env = render_env(config(registry={"storage": {"size": "100Gi", "storage_class": "fast-ssd"}}))
    spec = env.get("PersistentVolumeClaim", "registry-data-0")["spec"]
    assert spec["resources"]["requests"]["storage"] == "100Gi"
    assert spec["storageClassName"] == "fast-ssd"
    assert stack_env("staging").get("PersistentVolumeClaim", "ml-platform-data-0")["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_registry_is_a_pypi_index_serving_its_volume():
    registry = stack_env("staging").deployment("registry")
    assert registry.container["image"].startswith("pypiserver/pypiserver:")
    assert registry.container["args"] == ["run", "-p", "8081", "-P", "/etc/pypiserver/htpasswd", "-a", "update", "--disable-fallback", "/data/packages"]
    mount = {m["mountPath"]: m for m in registry.container["volumeMounts"]}["/etc/pypiserver/htpasswd"]
    assert mount["readOnly"] is True and mount["name"] == "secret-files"


def test_the_registry_login_is_generated_once_and_stored_as_a_secret():
    from pulumi.runtime import rpc

    from maestro_components.products.registry import htpasswd_line
    from maestro_deploy.offline.render import run_stack

    generated = {"registry-password": "s3cret-registry"}
    run = run_stack("test", {"maestro:kubernetes": {"namespace": "t"}, "maestro:components": {"registry": {}}}, generated=generated)
    (password,) = [r for r in run.registered if r.type == "random:index/randomPassword:RandomPassword"]
    assert password.name == "registry-password" and password.inputs["length"] == 32
    (secret,) = [r for r in run.registered if r.name == "registry-secret-files"]
    data = rpc.unwrap_rpc_secret(secret.inputs["stringData"])
    assert rpc.unwrap_rpc_secret(data["etc_pypiserver_htpasswd"]) == htpasswd_line("maestro", "s3cret-registry")
    assert htpasswd_line("maestro", "s3cret-registry") == "maestro:{SHA}" + "dDYvXK/QMCM5BRjANjSOIdODC7I=\n"


def test_bundled_database_is_postgresql_with_a_generated_password_in_a_secret():
    env = stack_env("staging")
    db = env.deployment("engine-db")
    assert db.container["image"].startswith("postgres:")
    assert "POSTGRES_PASSWORD" not in db.env
    password_file = db.env["POSTGRES_PASSWORD_FILE"]
    (mount,) = [m for m in db.container["volumeMounts"] if m["mountPath"] == password_file]
    volume = next(v for v in db.pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "engine-db-secret-files"
    assert mount["readOnly"] is True
    assert env.get("Secret", "engine-db-secret-files")["stringData"] == {mount["subPath"]: "[secret]"}
    assert db.container["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    assert env.registered("random:index/randomPassword:RandomPassword", "engine-db-password")


def test_services_select_their_own_workload_only():
    env = stack_env("staging")
    for service in env.all("Service"):
        name = service["metadata"]["name"]
        template = env.deployment(name).manifest["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= template.items()
        matching = [d for d in env.all("Deployment") if service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert [d["metadata"]["name"] for d in matching] == [name]


def test_the_quality_fabric_runner_runs_once_to_completion():
    runner = stack_env("staging").job("quality-fabric-runner")
    assert runner.pod["restartPolicy"] == "Never"
    assert "quality-fabric-runner" not in stack_env("staging").names("Service")


def test_persistent_volumes_are_protected_and_retained_on_delete():
    claims = stack_env("staging").registered("kubernetes:core/v1:PersistentVolumeClaim")
    data = {"engine-db-data-0", "ml-platform-data-0", "registry-data-0"}
    # staging schedules backups: each part's claim is kept as carefully as its data.
    assert {c.name for c in claims} == data | {"engine-db-backup", "ml-platform-backup", "registry-backup"}
    for claim in claims:
        assert claim.protect and claim.retain_on_delete, claim.name
    others = [r for r in stack_env("staging").run.registered if r.custom and r.type != "kubernetes:core/v1:PersistentVolumeClaim"]
    assert not any(r.protect for r in others)
