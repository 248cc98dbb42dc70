"""NetworkPolicies follow the wiring graph: one allow per wire, nothing else."""

from harness import render_env, stack_env

BASE = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}}


def config(**components):
    return {**BASE, "maestro:components": components}


def policy(env, name):
    return env.get("NetworkPolicy", name)["spec"]


def peers(rules):
    """Each rule as (what it selects, ports) in a comparable form."""
    result = set()
    for rule in rules:
        for peer in rule.get("from", rule.get("to", [])):
            if "podSelector" in peer and "namespaceSelector" not in peer:
                key = ("pod", peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"], peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"])
            elif "namespaceSelector" in peer and "podSelector" not in peer:
                key = ("namespace", peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
            elif "ipBlock" in peer:
                key = ("external", peer["ipBlock"]["cidr"])
            else:
                key = ("dns",)
            result.add((key, tuple(p["port"] for p in rule["ports"])))
    return result


def test_the_namespace_denies_everything_by_default():
    spec = policy(stack_env("staging"), "default-deny")
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_staging_allows_exactly_its_wires():
    env = stack_env("staging")
    dns = (("dns",), (53, 53))
    assert peers(policy(env, "engine")["ingress"]) == {
        (("pod", "hive", "worker"), (8000,)),
        (("pod", "quality-fabric", "runner"), (8000,)),
        (("namespace", "ingress-nginx"), (8000,)),
    }
    assert peers(policy(env, "engine")["egress"]) == {dns, (("pod", "engine", "database"), (5432,))}
    assert peers(policy(env, "engine-db")["ingress"]) == {(("pod", "engine", "api"), (5432,))}
    assert peers(policy(env, "frontend")["ingress"]) == {
        (("pod", "quality-fabric", "runner"), (8080,)),
        (("namespace", "ingress-nginx"), (8080,)),
    }
    # The browser calls the engine, not the frontend's pods.
    assert peers(policy(env, "frontend")["egress"]) == {dns}
    assert peers(policy(env, "hive")["egress"]) == {dns, (("pod", "engine", "api"), (8000,))}
    assert peers(policy(env, "hive")["ingress"]) == set()
    assert peers(policy(env, "ml-platform")["ingress"]) == set()
    assert peers(policy(env, "quality-fabric-runner")["egress"]) == {
        dns,
        (("pod", "engine", "api"), (8000,)),
        (("pod", "frontend", "web"), (8080,)),
    }


def test_adding_a_wire_adds_exactly_its_rules():
    without = render_env(config(engine={}, **{"ml-platform": {}}))
    with_hive = render_env(config(engine={}, hive={}, **{"ml-platform": {}}))
    before = {o["metadata"]["name"]: o["spec"] for o in without.all("NetworkPolicy")}
    after = {o["metadata"]["name"]: o["spec"] for o in with_hive.all("NetworkPolicy")}
    assert set(after) - set(before) == {"hive"}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"engine"}
    added = peers(after["engine"]["ingress"]) - peers(before["engine"]["ingress"])
    assert added == {(("pod", "hive", "worker"), (8000,))}
    assert peers(before["engine"]["ingress"]) <= peers(after["engine"]["ingress"])


def test_rewiring_to_an_external_engine_removes_the_in_cluster_rule():
    inside = render_env(config(engine={}, hive={}))
    outside = render_env(config(engine={}, hive={"engine": {"url": "https://engine.example.org:8443/api"}}))
    assert (("pod", "hive", "worker"), (8000,)) in peers(policy(inside, "engine")["ingress"])
    assert (("pod", "hive", "worker"), (8000,)) not in peers(policy(outside, "engine")["ingress"])
    assert peers(policy(outside, "hive")["egress"]) == {(("dns",), (53, 53)), (("external", "0.0.0.0/0"), (8443,))}


def test_quality_fabric_may_reach_an_external_target_only_on_its_ports():
    env = stack_env("qf-standalone")
    assert peers(policy(env, "quality-fabric-runner")["egress"]) == {(("dns",), (53, 53)), (("external", "0.0.0.0/0"), (443,))}
    assert peers(policy(env, "quality-fabric-api")["ingress"]) == {(("pod", "quality-fabric", "ui"), (8080,))}


def test_without_a_domain_no_ingress_controller_is_let_in():
    env = render_env({"maestro:kubernetes": {"namespace": "x"}, "maestro:components": {"engine": {}}})
    assert not env.all("Ingress")
    assert ("namespace", "ingress-nginx") not in {key for key, _ in peers(policy(env, "engine")["ingress"])}
