"""Every Kubernetes render agrees with itself and with the traffic its wiring implies, on every
stack and on generated ones; each check is shown to report a render broken by hand."""

import copy

import pytest
from conftest import KUBERNETES_STACKS
from harness import render_env, stack_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cross_checks as cc

EXISTING_CLAIMS = frozenset({"shared-artifacts", "nightly"})


def problems(env, ingress_namespace="ingress-nginx"):
    return cc.all_problems(env.objects, env.outputs["wiring"], EXISTING_CLAIMS, ingress_namespace)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_shipped_stack_agrees_with_itself_and_its_traffic(stack):
    assert problems(stack_env(stack)) == []


def test_a_stack_written_from_the_contract_alone_agrees_too():
    assert problems(render_env("tests/fixtures/Pulumi.someone-else.yaml"), ingress_namespace="traefik") == []


def test_no_two_shipped_stacks_collide_on_one_cluster():
    assert list(cc.collisions({s: stack_env(s).objects for s in KUBERNETES_STACKS})) == []


PRODUCTS = st.fixed_dictionaries(
    {"engine": st.just({})},
    optional={
        "frontend": st.just({}),
        "hive": st.just({}),
        "quality-fabric": st.sampled_from([{}, {"test_suites": ["unit", "e2e"]}, {"target": {"api_base": "https://api.other.example.com/api"}}]),
        "ml-platform": st.sampled_from([{}, {"storage": {"existing": "shared-artifacts"}}]),
        "registry": st.just({}),
    },
)
ENGINE = st.sampled_from([{}, {"replicas": 3}, {"autoscaling": {"min_replicas": 2, "max_replicas": 5}}])
KUBERNETES = st.fixed_dictionaries(
    {"namespace": st.just("maestro-gen"), "domain": st.just("gen.example.com"), "ingress_class": st.just("nginx")},
    optional={
        "tls": st.just({"cluster_issuer": "letsencrypt"}),
        "create_namespace": st.booleans(),
        "admit_namespaces": st.just(["team-hive"]),
    },
)


BACKUP = st.sampled_from([None, {"schedule": "@daily", "keep": 3}, {"schedule": "*/30 * * * *", "keep": 2, "storage": {"existing": "nightly"}}])


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(products=PRODUCTS, engine=ENGINE, kubernetes=KUBERNETES, backup=BACKUP)
def test_generated_stacks_agree_with_themselves_and_their_traffic(products, engine, kubernetes, backup):
    components = {**products, "engine": engine}
    if "quality-fabric" in components and "frontend" not in components:
        # Without a frontend, the e2e suite has nothing to load: the others run.
        components["quality-fabric"] = {**components["quality-fabric"], "test_suites": ["unit", "integration"]}
    config = {"maestro:kubernetes": kubernetes, "maestro:components": components}
    env = render_env({**config, **({"maestro:backup": backup} if backup else {})}, "gen")
    assert problems(env) == []


# --- each check reports a render broken by hand ---

def broken(stack, mutate):
    env = stack_env(stack)
    objects = copy.deepcopy(env.objects)
    mutate({(o["kind"], o["metadata"]["name"]): o for o in objects})
    return cc.all_problems(objects, env.outputs["wiring"])


def test_a_service_that_selects_nothing_is_reported():
    def mutate(o):
        o[("Service", "engine")]["spec"]["selector"]["app.kubernetes.io/component"] = "nothing"
    assert "Service engine selects no workload's pods" in broken("staging", mutate)


def test_a_service_on_a_port_the_pods_lack_is_reported():
    def mutate(o):
        o[("Service", "frontend")]["spec"]["ports"][0]["targetPort"] = "admin"
    assert any("targets port 'admin'" in p for p in broken("staging", mutate))


def test_an_ingress_to_a_missing_service_is_reported():
    def mutate(o):
        o[("Ingress", "registry")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "pypi"
    assert "Ingress registry routes to a missing Service pypi" in broken("staging", mutate)


def test_a_missing_secret_key_is_reported():
    def mutate(o):
        o[("Secret", "engine-env")]["stringData"] = {"DB_URL": "[secret]"}
    assert any("reads engine-env/DATABASE_URL, which does not exist" in p for p in broken("staging", mutate))


def test_a_missing_config_map_is_reported():
    def mutate(o):
        del o[("ConfigMap", "quality-fabric-api-files")]["metadata"]["name"]
        o[("ConfigMap", "quality-fabric-api-files")]["metadata"]["name"] = "renamed"
    assert any("mounts a missing configMap quality-fabric-api-files" in p for p in broken("staging", mutate))


def test_replicas_beside_an_hpa_are_reported():
    env = render_env({"maestro:kubernetes": {"namespace": "x", "domain": "x.example.com", "ingress_class": "nginx"}, "maestro:components": {"engine": {"autoscaling": {"min_replicas": 2, "max_replicas": 4}}}})
    objects = copy.deepcopy(env.objects)
    next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "engine")["spec"]["replicas"] = 2
    assert cc.autoscaled_deployments_leave_replicas_alone(objects) == ["Deployment engine sets replicas, which its HorizontalPodAutoscaler engine owns"]


def test_an_object_without_the_units_labels_is_reported():
    def mutate(o):
        del o[("NetworkPolicy", "hive")]["metadata"]["labels"]
    assert any(p.startswith("NetworkPolicy hive: app.kubernetes.io/instance is None") for p in broken("staging", mutate))


def test_a_call_the_policies_block_is_reported():
    def mutate(o):
        runner = o[("NetworkPolicy", "quality-fabric-runner")]["spec"]
        runner["egress"] = [r for r in runner["egress"] if "namespaceSelector" not in r["to"][0] or "podSelector" in r["to"][0]]
    found = broken("staging", mutate)
    assert "quality-fabric-runner -> engine (public host) is not let out to the ingress controller on 443" in found


def test_a_callee_that_does_not_admit_its_caller_is_reported():
    def mutate(o):
        o[("NetworkPolicy", "engine-db")]["spec"]["ingress"] = []
    assert "engine -> engine-db:5432 is not let in by engine-db's policies" in broken("staging", mutate)


def test_two_stacks_in_one_namespace_collide():
    staging = stack_env("staging").objects
    assert any("Deployment maestro-staging/engine" in c for c in cc.collisions({"a": staging, "b": staging}))


# --- the backups (staging schedules them) ---

def backup_pod(o, name):
    return o[("CronJob", name)]["spec"]["jobTemplate"]["spec"]["template"]


def test_a_service_that_also_selects_backup_pods_is_reported():
    def mutate(o):
        backup_pod(o, "engine-db-backup")["metadata"]["labels"]["app.kubernetes.io/component"] = "database"
    assert "Service engine-db selects the pods of several workloads: engine-db, engine-db-backup" in broken("staging", mutate)


def test_a_backup_without_a_policy_of_its_own_is_reported():
    def mutate(o):
        o[("NetworkPolicy", "registry-backup")]["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] = "pypi"
    assert "CronJob registry-backup: no NetworkPolicy of its own selects its pods" in broken("staging", mutate)


def test_a_backup_that_may_reach_more_than_its_source_is_reported():
    wider = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}

    def mutate(o):
        o[("NetworkPolicy", "ml-platform-backup")]["spec"]["egress"].append(wider)
        o[("NetworkPolicy", "engine-db-backup")]["spec"]["egress"].append(wider)
    found = broken("staging", mutate)
    assert f"CronJob ml-platform-backup may reach more than its source: {wider}" in found
    assert f"CronJob engine-db-backup may reach more than its source: {wider}" in found


def test_a_dump_its_database_does_not_let_in_is_reported():
    def mutate(o):
        del backup_pod(o, "engine-db-backup")["metadata"]["labels"]["calls.maestro.dev/engine-db"]
    assert "CronJob engine-db-backup is not let in by its source engine-db's policies" in broken("staging", mutate)


def test_a_dump_not_let_out_to_its_database_is_reported():
    def mutate(o):
        o[("NetworkPolicy", "engine-db-backup")]["spec"]["egress"][1]["ports"][0]["port"] = 5433
    found = broken("staging", mutate)
    assert "CronJob engine-db-backup is not let out to its source engine-db:5432" in found


def test_an_archive_off_its_volumes_node_is_reported():
    def mutate(o):
        del backup_pod(o, "registry-backup")["spec"]["affinity"]
    assert "CronJob registry-backup reads claim registry-data-0 but is not placed on the node of registry's pod" in broken("staging", mutate)


def test_a_backup_claim_that_does_not_exist_is_reported():
    def mutate(o):
        backup_pod(o, "ml-platform-backup")["spec"]["volumes"][-1]["persistentVolumeClaim"]["claimName"] = "nightly"
    assert "ml-platform-backup: volume data-1 claims a missing PersistentVolumeClaim nightly" in broken("staging", mutate)


def test_an_unbounded_schedule_is_reported():
    def mutate(o):
        spec = o[("CronJob", "registry-backup")]["spec"]
        spec["concurrencyPolicy"] = "Allow"
        del spec["startingDeadlineSeconds"], spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    found = broken("staging", mutate)
    assert "CronJob registry-backup: concurrencyPolicy is 'Allow', not Forbid" in found
    assert "CronJob registry-backup: no startingDeadlineSeconds" in found
    assert "CronJob registry-backup: its Jobs have no activeDeadlineSeconds" in found
