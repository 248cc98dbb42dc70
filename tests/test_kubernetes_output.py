"""Production-grade Kubernetes output: schema-valid, least privilege, available, exposed on purpose."""

import kubernetes_validate
import pytest
from conftest import KUBERNETES_STACKS, ROOT
from cross_checks import pod_template_of
from harness import render_env, stack_env

BASE = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}}


def config(size=None, **components):
    return {**BASE, **({"maestro:size": size} if size else {}), "maestro:components": components}


def workloads(env):
    return env.all("Deployment") + env.all("Job") + env.all("CronJob")


SOMEONE_ELSE = str(ROOT / "tests" / "fixtures" / "Pulumi.someone-else.yaml")


@pytest.mark.parametrize("version", ["1.29.0", "1.37.0"])
@pytest.mark.parametrize("stack", KUBERNETES_STACKS + [SOMEONE_ELSE])
def test_every_object_is_schema_valid(stack, version):
    for obj in stack_env(stack).objects:
        # A custom resource has no schema here: scripts/gates checks ServiceMonitors against their CRD's.
        if obj["apiVersion"] != "monitoring.coreos.com/v1":
            kubernetes_validate.validate(obj, version, strict=True)


def test_someone_elses_stack_gets_the_wiring_it_asks_for():
    env = stack_env(SOMEONE_ELSE)
    assert env.get("HorizontalPodAutoscaler", "engine")["spec"]["minReplicas"] == 3
    assert env.deployment("frontend").replicas == 3
    assert env.deployment("hive").env["MAESTRO_API_BASE"] == "https://engine.shared.example.net/api"
    ingress_from = env.get("NetworkPolicy", "frontend")["spec"]["ingress"][-1]["from"][0]
    assert ingress_from == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_pod_runs_with_least_privilege(stack):
    for w in workloads(stack_env(stack)):
        pod = pod_template_of(w)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] >= 10000 and pod["securityContext"]["runAsGroup"] >= 10000
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == w["metadata"]["name"]
        (c,) = pod["containers"]
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert {"cpu", "memory"} <= c["resources"]["requests"].keys() and {"cpu", "memory"} <= c["resources"]["limits"].keys()
        assert ":" in c["image"].rsplit("/", 1)[-1], "images are pinned by tag"
        if w["kind"] == "Deployment":
            assert c["readinessProbe"] and c["livenessProbe"]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_product_has_its_own_service_account_without_a_token(stack):
    env = stack_env(stack)
    for account in env.all("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
    assert env.names("ServiceAccount") == {w["metadata"]["name"] for w in workloads(env)}


def test_writable_paths_are_scratch_volumes():
    engine = stack_env("staging").deployment("engine")
    scratch = {v["name"] for v in engine.pod["volumes"] if "emptyDir" in v}
    assert {m["mountPath"] for m in engine.container["volumeMounts"] if m["name"] in scratch} == {"/tmp"}


def test_a_digest_pins_the_image_and_lifts_the_tag_exception():
    digest = "sha256:" + "b" * 64
    env = render_env(config(engine={"digest": digest}))
    engine = env.deployment("engine")
    assert engine.container["image"] == f"ghcr.io/maestro-platform/maestro-engine:1.2.3@{digest}"
    skips = engine.manifest["metadata"]["annotations"].values()
    assert not any(s.startswith("CKV_K8S_43=") for s in skips)
    db_skips = env.deployment("engine-db").manifest["metadata"]["annotations"].values()
    assert any(s.startswith("CKV_K8S_43=") for s in db_skips)


def test_policy_exceptions_sit_on_the_objects_they_concern_with_a_reason():
    env = stack_env("staging")
    engine = env.deployment("engine").manifest["metadata"]["annotations"]
    assert sorted(v.split("=", 1)[0] for v in engine.values()) == ["CKV_K8S_35", "CKV_K8S_43"]
    frontend = env.deployment("frontend").manifest["metadata"]["annotations"]
    assert [v.split("=", 1)[0] for v in frontend.values()] == ["CKV_K8S_43"]
    assert all(len(v.split("=", 1)[1]) > 20 for v in engine.values())


@pytest.mark.parametrize("size, replicas", [("small", 1), ("medium", 2), ("large", 3)])
def test_stack_size_sets_default_replicas_of_stateless_services(size, replicas):
    env = render_env(config(size, engine={}, registry={}, frontend={"replicas": 5}))
    assert env.deployment("engine").replicas == replicas
    assert env.deployment("frontend").replicas == 5
    assert env.deployment("registry").replicas == 1
    assert env.deployment("engine-db").replicas == 1
    pdbs = env.names("PodDisruptionBudget")
    assert ("engine" in pdbs) == (replicas > 1)
    assert "frontend" in pdbs and "registry" not in pdbs


def test_autoscaling_adds_an_hpa_and_a_pdb():
    env = render_env(config(engine={"autoscaling": {"min_replicas": 2, "max_replicas": 10, "cpu_utilization": 60}}))
    hpa = env.get("HorizontalPodAutoscaler", "engine")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "engine"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}
    # The HPA owns the count: the Deployment sets none, or every `pulumi up` would fight it.
    assert "replicas" not in env.deployment("engine").manifest["spec"]
    assert env.get("PodDisruptionBudget", "engine")["spec"]["maxUnavailable"] == 1


def test_ingress_for_every_product_that_browsers_reach():
    env = stack_env("staging")
    assert env.names("Ingress") == {"engine", "frontend", "quality-fabric-ui", "registry"}
    frontend = env.get("Ingress", "frontend")
    assert frontend["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-staging"}
    assert frontend["spec"]["tls"] == [{"hosts": ["app.staging.example.com"], "secretName": "frontend-tls"}]
    assert frontend["spec"]["ingressClassName"] == "nginx"


def test_ingress_tls_from_an_existing_secret():
    ingress = stack_env("engine-only").get("Ingress", "engine")
    assert ingress["spec"]["tls"] == [{"hosts": ["api.maestro.acme.example.com"], "secretName": "acme-wildcard-tls"}]
    assert "annotations" not in ingress["metadata"]


def test_a_rotated_secret_rolls_the_pods_without_telling_its_value():
    """Env from a Secret and subPath-mounted secret files never update in a running pod: the pod
    template carries a digest of them, keyed, so it changes with them and tells nothing of them."""
    import json

    def registry(password):
        env = render_env(
            {**config(registry={"password": password})},
            secret_keys=["maestro:components"],
        )
        return env.deployment("registry").manifest

    first, same, rotated = registry("Zq-first-password"), registry("Zq-first-password"), registry("Zq-second-password")
    digest = lambda d: d["spec"]["template"]["metadata"]["annotations"]["maestro.dev/secrets-digest"]  # noqa: E731
    assert digest(first) == digest(same) != digest(rotated)
    assert len(digest(first)) == 16 and "[secret]" not in digest(first)
    assert "Zq-first-password" not in json.dumps(first) and "Zq-second" not in json.dumps(rotated)
