"""Every stack in stacks/: it renders, and follows the component rules."""

import pytest
from conftest import DOCKER_STACKS, KUBERNETES_STACKS, STACKS
from harness import stack_env

PRODUCT_TYPES = {
    "maestro:engine:Engine",
    "maestro:frontend:Frontend",
    "maestro:hive:Hive",
    "maestro:quality-fabric:QualityFabric",
    "maestro:ml-platform:MlPlatform",
    "maestro:registry:Registry",
    "maestro:observability:Prometheus",  # a Prometheus of the stack's own, beside the products
}

# Stack-wide resources, children of the stack itself.
TOP_LEVEL = {
    "pulumi:providers:kubernetes",
    "kubernetes:core/v1:Namespace",
    "maestro:kubernetes:NetworkRules",
    "maestro:kubernetes:Backups",
    "pulumi:providers:docker",
    "docker:index/network:Network",
}

EXPECTED_PRODUCTS = {
    "staging": {"engine", "frontend", "hive", "quality-fabric", "ml-platform", "registry"},
    "engine-only": {"engine"},
    "frontend-custom-backend": {"frontend"},
    "qf-standalone": {"quality-fabric"},
    "dev": {"engine", "frontend", "hive", "quality-fabric", "ml-platform", "registry", "prometheus"},
}


def test_the_documented_stacks_exist():
    assert set(EXPECTED_PRODUCTS) <= set(STACKS)


@pytest.mark.parametrize("stack", sorted(EXPECTED_PRODUCTS))
def test_a_stack_deploys_exactly_its_products(stack):
    run = stack_env(stack).run
    units = [r for r in run.registered if r.type in ("maestro:kubernetes:ServiceUnit", "maestro:docker:ServiceUnit")]
    by_urn = {r.urn: r for r in run.registered}
    products = {by_urn[u.parent].name for u in units}  # a unit's parent is its product's component
    assert products == EXPECTED_PRODUCTS[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_goes_through_the_stacks_explicit_provider(stack):
    run = stack_env(stack).run
    platform = "docker" if stack in DOCKER_STACKS else "kubernetes"
    providers = [r for r in run.registered if r.type.startswith("pulumi:providers:")]
    assert [(p.type, p.name) for p in providers] == [(f"pulumi:providers:{platform}", platform)]
    explicit = providers[0].urn
    for r in run.registered:
        if r.custom and r.type.startswith(f"{platform}:"):
            assert r.provider.startswith(explicit + "::"), f"{r.type} {r.name} uses {r.provider or 'the default provider'}"


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_object_lives_in_the_stacks_namespace(stack):
    env = stack_env(stack)
    (namespace,) = env.all("Namespace")
    name = namespace["metadata"]["name"]
    assert name != "default"
    for obj in env.objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == name, obj["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_components_nest_their_children(stack):
    run = stack_env(stack).run
    by_urn = {r.urn: r for r in run.registered}
    for r in run.registered:
        if r.type in PRODUCT_TYPES | TOP_LEVEL:
            continue
        assert r.parent in by_urn, f"{r.type} {r.name} has no component parent"
        assert by_urn[r.parent].type.startswith("maestro:"), f"{r.type} {r.name} parent is {by_urn[r.parent].type}"
    for r in run.registered:
        if r.type.startswith("maestro:"):
            assert r.type.count(":") == 2 and not r.custom


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_names_are_unique_per_kind(stack):
    env = stack_env(stack)
    keys = [(o["kind"], o["metadata"]["name"]) for o in env.objects]
    assert len(keys) == len(set(keys))


def test_the_pulumi_entry_point_runs_the_same_program():
    """`pulumi up` executes __main__.py; under mocks it registers what `render` shows."""
    import runpy

    from conftest import ROOT

    from maestro_deploy.offline.mock_run import run_program
    from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

    def pulumi_runs_main():
        runpy.run_path(str(ROOT / "__main__.py"))

    _, path = resolve_stack_path("engine-only")
    run = run_program("engine-only", read_stack_config(path), pulumi_runs_main)
    assert sorted((r.type, r.name) for r in run.registered if r.custom) == sorted(
        (r.type, r.name) for r in stack_env("engine-only").run.registered if r.custom
    )
