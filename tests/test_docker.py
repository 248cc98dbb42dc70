"""The Docker platform: the same products and wiring as on Kubernetes, as containers."""

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from harness import render_env, stack_env
from pulumi.runtime import rpc

from maestro_components.products.registry import htpasswd_line
from maestro_deploy import cli
from maestro_deploy.offline.compose import compose_export
from maestro_deploy.offline.mock_run import GENERATED_SECRET
from maestro_deploy.offline.stack import on_platform

CONTAINER = "docker:index/container:Container"


def containers(env) -> dict:
    return {r.name: r for r in env.run.registered if r.type == CONTAINER}


def reveal(value):
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def env_of(container) -> dict[str, str]:
    """KEY -> value of a container's env, secrets unwrapped."""
    return dict(reveal(e).split("=", 1) for e in reveal(container.inputs.get("envs", [])))


def labels_of(resource) -> dict[str, str]:
    return {item["label"]: item["value"] for item in resource.inputs["labels"]}


def secret_keys(container) -> set[str]:
    """The variables whose values are secret: the whole env list is then a Pulumi secret."""
    names = labels_of(container).get("maestro.secret-env")
    if names:
        assert rpc.is_rpc_secret(container.inputs["envs"]), "a secret value travels in a plain list"
    return set(names.split(",")) if names else set()


def on_docker(config: dict, **docker) -> dict:
    return on_platform({**config, **({"maestro:docker": docker} if docker else {})}, "docker")


def staging_config() -> dict:
    from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

    return read_stack_config(resolve_stack_path("staging")[1])


def without_replicas(config: dict) -> dict:
    components = {k: {f: v for f, v in p.items() if f != "replicas"} for k, p in config["maestro:components"].items()}
    return {**config, "maestro:components": components}


@pytest.fixture(scope="module")
def both():
    config = without_replicas(staging_config())
    return render_env(config, "staging"), render_env(on_docker(config), "staging")


def test_the_same_stack_has_the_same_wiring_on_both_platforms(both):
    kubernetes, docker = both
    assert docker.outputs["wiring"] == kubernetes.outputs["wiring"]
    assert docker.outputs["versions"] == kubernetes.outputs["versions"]


def test_every_unit_gets_the_same_env_keys_files_and_image_on_both_platforms(both):
    kubernetes, docker = both
    pods = {w["metadata"]["name"]: w for w in kubernetes.all("Deployment") + kubernetes.all("Job")}
    boxes = containers(docker)
    assert set(boxes) == set(pods)
    for name, container in boxes.items():
        pod = pods[name]["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert container.inputs["image"] == c["image"], name
        assert env_of(container).keys() == {e["name"] for e in c.get("env", [])}, name
        secret_in_pod = {e["name"] for e in c.get("env", []) if "valueFrom" in e}
        assert secret_keys(container) == secret_in_pod, name
        uploads = reveal(container.inputs.get("uploads", []))
        mounted = {m["mountPath"] for m in c["volumeMounts"] if m.get("readOnly")}
        assert {u["file"] for u in uploads} == mounted, name
        assert container.inputs.get("command") == c.get("args"), name


def test_wired_urls_follow_each_platforms_endpoints(both):
    _, docker = both
    boxes = containers(docker)
    assert env_of(boxes["frontend"])["VITE_MAESTRO_API_BASE"] == "http://localhost:8000/api"
    assert env_of(boxes["hive"])["MAESTRO_API_BASE"] == "http://engine:8000/api"
    assert env_of(boxes["engine"])["DATABASE_URL"] == f"postgresql://maestro:{GENERATED_SECRET}@engine-db:5432/maestro"
    config = yaml.safe_load(reveal(boxes["quality-fabric-runner"].inputs["uploads"])[0]["content"])
    # The runner tests what a browser on this machine loads, from the host's network: e2e checks CORS from that origin.
    assert config["target"] == {"api_base": "http://localhost:8000/api", "frontend_url": "http://localhost:8080"}
    assert docker.outputs["engine_url"] == "http://localhost:8000/api"
    assert docker.outputs["frontend_url"] == "http://localhost:8080"


def test_public_urls_are_ports_of_localhost_which_every_resolver_knows(both):
    """`*.localhost` names fail in getaddrinfo on a stock Debian (pip, Python): `localhost` never does.
    In a container `localhost` is the container itself, so no unit takes it as an alias, and the
    runner, which calls these URLs, runs in the host's network namespace."""
    _, docker = both
    boxes = containers(docker)
    engine = boxes["engine"].inputs
    assert engine["networksAdvanced"] == [{"name": "maestro-staging", "aliases": ["engine"]}]
    assert engine["ports"] == [{"internal": 8000.0, "external": 8000.0, "ip": "127.0.0.1"}]
    runner = boxes["quality-fabric-runner"].inputs
    assert runner["networkMode"] == "host" and "networksAdvanced" not in runner
    assert all(c.inputs.get("networkMode") is None for name, c in boxes.items() if name != "quality-fabric-runner")
    assert set(docker.outputs[k] for k in ("engine_url", "frontend_url", "quality_fabric_url", "registry_url")) == {
        "http://localhost:8000/api", "http://localhost:8080", "http://localhost:8090", "http://localhost:8081"
    }


def test_under_another_domain_a_public_url_also_answers_inside_the_stacks_network():
    """A VM's DNS name: the browser's URL works for quality-fabric too, through an alias on the same port."""
    env = render_env(on_docker({"maestro:components": {"engine": {}, "frontend": {}, "quality-fabric": {}}}, domain="vm.example.com"))
    boxes = containers(env)
    assert boxes["engine"].inputs["networksAdvanced"][0]["aliases"] == ["engine", "api.vm.example.com"]
    assert env.outputs["frontend_url"] == "http://app.vm.example.com:8080"
    assert boxes["quality-fabric-runner"].inputs.get("networkMode") is None
    config = yaml.safe_load(reveal(boxes["quality-fabric-runner"].inputs["uploads"])[0]["content"])
    assert config["target"] == {"api_base": "http://engine:8000/api", "frontend_url": "http://app.vm.example.com:8080"}


def test_only_public_units_are_published_and_only_on_loopback(both):
    _, docker = both
    published = {name: c.inputs["ports"] for name, c in containers(docker).items() if c.inputs.get("ports")}
    assert set(published) == {"engine", "frontend", "quality-fabric-ui", "registry"}
    assert {p["ip"] for ports in published.values() for p in ports} == {"127.0.0.1"}
    host_ports = [p["external"] for ports in published.values() for p in ports]
    assert len(host_ports) == len(set(host_ports)), "two units on one host port"


def test_publish_false_publishes_nothing_yet_public_urls_answer_inside_the_network():
    """Stacks that run side by side (ephemeral tests) take no host port."""
    env = render_env(on_docker({"maestro:components": {"engine": {}, "frontend": {}}}, publish=False))
    boxes = containers(env)
    assert not any(c.inputs.get("ports") for c in boxes.values())
    # localhost would be each container itself: unpublished, the names are the network's aliases.
    assert env.outputs["engine_url"] == "http://api.localhost:8000/api"
    assert env_of(boxes["frontend"])["VITE_MAESTRO_API_BASE"] == env.outputs["engine_url"]
    assert boxes["engine"].inputs["networksAdvanced"][0]["aliases"] == ["engine", "api.localhost"]


def test_another_bind_address_is_a_warning(tmp_path, capsys):
    path = tmp_path / "Pulumi.vm.yaml"
    config = on_docker({"maestro:components": {"engine": {}}}, bind_address="0.0.0.0")
    path.write_text(yaml.safe_dump({"config": config}))
    assert cli.main(["check", str(path)]) == 0
    assert "warning: maestro:docker.bind_address: 0.0.0.0 is not loopback" in capsys.readouterr().err
    env = render_env(yaml.safe_load(path.read_text())["config"])
    assert containers(env)["engine"].inputs["ports"][0]["ip"] == "0.0.0.0"


def test_containers_run_hardened_with_limits_and_health_checks(both):
    _, docker = both
    for name, c in containers(docker).items():
        i = c.inputs
        assert i["user"] == "10001:10001", name
        assert i["capabilities"] == {"drops": ["ALL"]} and i["securityOpts"] == ["no-new-privileges:true"], name
        assert i["memory"] > 0 and float(i["cpus"]) > 0, name
        # Docker cannot copy files into a read-only root: only units with files keep it writable.
        assert i["readOnly"] is (not i.get("uploads")), name
        if name == "quality-fabric-runner":
            assert i["restart"] == "no" and i["mustRun"] is False and i["attach"] is True
        else:
            assert i["restart"] == "unless-stopped" and i["wait"] is True and i["healthcheck"]["tests"], name


def test_a_task_starts_after_what_it_calls_and_services_start_at_once(both):
    """Services wait for their own health (and restart until what they need answers), so
    no chain of services lengthens `pulumi up`; the test run waits for its targets."""
    kubernetes, docker = both
    for env, kind in ((docker, CONTAINER), (kubernetes, None)):
        run = env.run
        workloads = {r.urn: r.name for r in run.registered if r.type in (CONTAINER, "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")}
        after = {workloads[u]: {workloads[d] for d in r.dependencies if d in workloads} for r in run.registered for u in [r.urn] if u in workloads}
        assert after.pop("quality-fabric-runner") == {"engine", "frontend"}
        assert all(waits == set() for waits in after.values()), after


def test_data_volumes_are_protected_and_reports_are_not(both):
    _, docker = both
    volumes = {r.name: r for r in docker.run.registered if r.type == "docker:index/volume:Volume"}
    assert set(volumes) == {"engine-db-data-0", "ml-platform-data-0", "registry-data-0", "quality-fabric-runner-reports"}
    for name, volume in volumes.items():
        keep = not name.endswith("-reports")
        assert (volume.protect, volume.retain_on_delete) == (keep, keep), name
    assert volumes["engine-db-data-0"].inputs["name"] == "maestro-staging-engine-db-data-0"


def test_a_product_built_from_local_source(tmp_path):
    sibling = tmp_path / "maestro-engine"  # a sibling checkout, with its Dockerfile
    sibling.mkdir()
    (sibling / "Dockerfile").write_text("FROM scratch\n")
    config = on_docker({"maestro:components": {"engine": {"image": "maestro-engine:dev", "build": {"context": str(sibling), "args": {"PIP_INDEX_URL": "http://pypi.localhost:8081/simple"}}}}})
    env = render_env(config)
    (image,) = [r for r in env.run.registered if r.type == "docker:index/image:Image"]
    assert image.inputs["imageName"] == "maestro-engine:dev" and image.inputs["skipPush"] is True
    assert image.inputs["build"]["context"] == str(sibling)
    assert containers(env)["engine"].inputs["image"] == "maestro-engine:dev"
    service = compose_export(env.run).compose["services"]["engine"]
    assert service["build"] == {"context": image.inputs["build"]["context"], "args": {"PIP_INDEX_URL": "http://pypi.localhost:8081/simple"}}


def test_every_docker_resource_has_the_stacks_label_for_cleanup():
    env = stack_env("dev")
    for r in env.run.registered:
        if r.type in (CONTAINER, "docker:index/volume:Volume", "docker:index/network:Network"):
            assert labels_of(r)["maestro.stack"] == "dev", r.name


def test_compose_export_writes_what_the_platform_registers(tmp_path):
    out, state = tmp_path / "out", tmp_path / "state"
    path = tmp_path / "Pulumi.staging.yaml"  # staging less its replicas: one container per unit
    path.write_text(yaml.safe_dump({"config": without_replicas(staging_config())}))
    assert cli.main(["render", str(path), "--platform", "docker", "--out", str(out), "--state", str(state)]) == 0
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    env = render_env(on_docker(without_replicas(staging_config())), "staging")
    boxes = containers(env)
    assert set(compose["services"]) == set(boxes)
    for name, service in compose["services"].items():
        c = boxes[name].inputs
        assert service["image"] == c["image"] and service["container_name"] == c["name"]
        plain = {k: v for k, v in env_of(boxes[name]).items() if k not in secret_keys(boxes[name])}
        assert service.get("environment", {}) == plain, name
        if name == "quality-fabric-runner":
            assert service["network_mode"] == "host" and "networks" not in service
        else:
            assert service["networks"] == {"maestro-staging": {"aliases": c["networksAdvanced"][0]["aliases"]}}
    assert "depends_on" not in compose["services"]["engine"]
    assert compose["services"]["quality-fabric-runner"]["depends_on"] == {
        "engine": {"condition": "service_healthy"},
        "frontend": {"condition": "service_healthy"},
    }
    assert compose["networks"] == {"maestro-staging": {"name": "maestro-staging", "driver": "bridge", "labels": {"maestro.stack": "staging"}}}
    assert set(compose["volumes"]) == {"maestro-staging-engine-db-data-0", "maestro-staging-ml-platform-data-0", "maestro-staging-registry-data-0"}


def test_compose_keeps_secrets_out_of_compose_yaml_and_private(tmp_path):
    out, state = tmp_path / "out", tmp_path / "state"
    cli.main(["render", "dev", "--out", str(out), "--state", str(state)])
    generated = yaml.safe_load((state / "dev.generated.json").read_text())
    assert set(generated) == {"engine-db-password", "registry-password"}
    password = generated["engine-db-password"]
    assert len(password) == 32 and password != GENERATED_SECRET
    assert password not in (out / "compose.yaml").read_text()
    assert (out / "secrets/engine.env").read_text() == f"DATABASE_URL=postgresql://maestro:{password}@engine-db:5432/maestro\n"
    assert "maestro.secret-env" not in (out / "compose.yaml").read_text()
    assert (out / "secrets/engine-db/run/secrets/postgres-password").read_text() == password
    assert stat.S_IMODE(os.stat(out / "secrets").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(out / "secrets/engine.env").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state / "dev.generated.json").st_mode) == 0o600


def test_a_generated_password_survives_a_re_render(tmp_path):
    """The bundled database keeps the password it was initialised with."""
    state = tmp_path / "state"
    cli.main(["render", "dev", "--out", str(tmp_path / "a"), "--state", str(state)])
    cli.main(["render", "dev", "--out", str(tmp_path / "b"), "--state", str(state)])
    cli.main(["render", "dev", "--out", str(tmp_path / "c"), "--state", str(tmp_path / "other")])
    first, again, fresh = ((tmp_path / d / "secrets/engine.env").read_text() for d in "abc")
    assert first == again and first != fresh


def test_the_reference_image_listens_where_the_catalog_says():
    import sys

    from maestro_components.catalog import load_catalog
    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "reference"))
    from app import METRICS_PORT, ROLES

    catalog = load_catalog()
    for product, defaults in catalog.items():
        for component, unit in defaults.units.items():
            role = product if len(defaults.units) == 1 else f"{product}-{component}"
            if product == "registry":
                # pypiserver itself runs: the reference image plays only what cannot be had.
                assert role not in ROLES
            else:
                assert ROLES[role] == unit.port, role
                # Every serving role answers /metrics on the reference's metrics port; a task serves none.
                expected = (METRICS_PORT, "/metrics") if unit.kind == "service" else None
                assert (unit.metrics and (unit.metrics.port, unit.metrics.path)) == expected, role
    assert "database" not in ROLES  # PostgreSQL itself runs (images/postgres)


def test_the_default_local_stack_pulls_nothing_and_builds_what_it_runs():
    """`dev` needs no image registry: every image it runs is built from a context in this repo,
    PostgreSQL and the registry from their own, the products from the reference image."""
    from conftest import ROOT

    env = stack_env("dev")
    builds = {r.inputs["imageName"]: r.inputs["build"] for r in env.run.registered if r.type == "docker:index/image:Image"}
    assert not [r.name for r in env.run.registered if r.type == "docker:index/remoteImage:RemoteImage"]
    for container in containers(env).values():
        assert container.inputs["image"] in builds, container.name
    assert builds["maestro-postgres:15"]["context"] == str(ROOT / "images/postgres")
    assert builds["maestro-pypiserver:2.3.2"]["context"] == str(ROOT / "images/pypiserver")
    assert builds["maestro-reference:dev"]["context"] == str(ROOT / "reference")
    for build in builds.values():
        assert (Path(build["context"]) / "Dockerfile").is_file()
        assert build["args"] == {"BASE_IMAGE": "maestro-base:bookworm"}


def test_every_compose_service_runs_read_only_under_an_init(tmp_path):
    """Uploads become bind mounts in Compose, so no unit needs a writable root there; an init
    forwards `docker stop`'s SIGTERM, so `down` does not wait 10 s per container."""
    cli.main(["render", "dev", "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state")])
    services = yaml.safe_load((tmp_path / "out/compose.yaml").read_text())["services"]
    assert {(s["read_only"], s["init"]) for s in services.values()} == {(True, True)}
    assert all(c.inputs["init"] for c in containers(stack_env("dev")).values())


def test_the_compose_export_is_the_same_file_every_time(tmp_path):
    """A re-run of `scripts/up` writes the same compose.yaml, so Compose replaces nothing."""
    state = str(tmp_path / "state")
    for out in ("a", "b"):
        cli.main(["render", "dev", "--out", str(tmp_path / out), "--state", state])
    assert (tmp_path / "a/compose.yaml").read_text() == (tmp_path / "b/compose.yaml").read_text()


def test_the_registry_login_is_a_secret_output(tmp_path, capsys):
    state = tmp_path / "state"
    cli.main(["render", "dev", "--out", str(tmp_path / "out"), "--state", str(state)])
    password = yaml.safe_load((state / "dev.generated.json").read_text())["registry-password"]
    written = json.loads((tmp_path / "out/outputs.json").read_text())
    assert written["registry_username"] == "maestro" and written["registry_password"] == "[secret]"
    capsys.readouterr()
    assert cli.main(["outputs", "dev", "--state", str(state)]) == 0
    masked = capsys.readouterr().out
    assert '"registry_password": "[secret]"' in masked and password not in masked
    assert cli.main(["outputs", "dev", "--state", str(state), "--show-secrets"]) == 0
    shown = json.loads(capsys.readouterr().out)["organization/maestro/dev"]
    assert shown["registry_password"] == password
    # The login the registry checks is that password's.
    htpasswd = (tmp_path / "out/secrets/registry/etc/pypiserver/htpasswd").read_text()
    assert htpasswd == htpasswd_line("maestro", password)


def test_a_units_version_label_says_what_runs():
    """dev's database is Debian's PostgreSQL 15 (images/postgres, tagged 15): its label says 15, not the
    catalog's 16.4, which is what the official image the Kubernetes stacks run is tagged."""
    boxes = containers(stack_env("dev"))
    db = labels_of(boxes["engine-db"])
    assert (boxes["engine-db"].inputs["image"], db["maestro.version"]) == ("maestro-postgres:15", "15")
    staging = stack_env("staging").deployment("engine-db")
    assert staging.labels["app.kubernetes.io/version"] == "16.4"
