"""Acme's unit tests of its own program, with maestro-deploy's pytest plugin (its fixtures
come with the installed package): no Mocks class to write."""

import acme_program

MAESTRO_PODS = {"app.kubernetes.io/part-of": "maestro"}


def test_maestro_goes_into_our_namespace_without_creating_it(maestro_program):
    rendered = maestro_program(acme_program.main)
    assert rendered.all("Namespace") == []
    assert {o["metadata"]["namespace"] for o in rendered.objects} == {"acme-apps"}
    assert rendered.names("Deployment") == {"maestro-engine", "maestro-engine-db", "maestro-frontend", "billing"}


def test_every_network_policy_selects_only_maestros_pods(maestro_program):
    rendered = maestro_program(acme_program.main)
    policies = rendered.all("NetworkPolicy")
    assert policies
    for policy in policies:
        selected = policy["spec"]["podSelector"]["matchLabels"]
        assert MAESTRO_PODS.items() <= selected.items(), policy["metadata"]["name"]
    billing = rendered.deployment("billing").manifest["spec"]["template"]["metadata"]["labels"]
    assert not any(p["spec"]["podSelector"]["matchLabels"].items() <= billing.items() for p in policies)


def test_every_kubernetes_resource_uses_our_provider(maestro_program):
    rendered = maestro_program(acme_program.main)
    ours = [r for r in rendered.run.registered if r.custom and r.type.startswith("kubernetes:")]
    assert ours and all("::acme-cluster::" in r.provider for r in ours), [r.name for r in ours if "::acme-cluster::" not in r.provider]


def test_the_wiring_is_ours_to_read(maestro_program):
    rendered = maestro_program(acme_program.main)
    assert rendered.unit("maestro-frontend").env["VITE_MAESTRO_API_BASE"] == "https://api.apps.acme.example.com/api"
    assert rendered.unit("maestro-engine").env["MAESTRO_CORS_ORIGINS"] == "https://app.apps.acme.example.com"
    assert rendered.unit("maestro-engine").secrets == {"DATABASE_URL": "[secret]"}
    assert rendered.outputs == {"engine_url": "https://api.apps.acme.example.com/api", "frontend_url": "https://app.apps.acme.example.com"}
