"""NetworkPolicies follow the wiring graph: one allow per wire, nothing else.

Rules are read as a cluster applies them: a pod selector stands for the workloads whose
pods it selects, so a rule is judged by who it lets through, not by how it is written."""

from harness import render_env, stack_env

BASE = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}}


def config(**components):
    return {**BASE, "maestro:components": components}


def policy(env, name):
    """A policy's spec, with the env it came from: a pod selector is read against its pods."""
    return Spec(env, env.get("NetworkPolicy", name)["spec"])


class Spec(dict):
    def __init__(self, env, spec):
        super().__init__(spec)
        self.env = env

    def __getitem__(self, key):
        return Rules(self.env, dict.__getitem__(self, key))


class Rules(list):
    def __init__(self, env, rules):
        super().__init__(rules)
        self.env = env


def workloads(env) -> dict[tuple[str, str], dict[str, str]]:
    """(product, component) -> the labels of its pods."""
    return {
        (w["metadata"]["labels"]["app.kubernetes.io/name"], w["metadata"]["labels"]["app.kubernetes.io/component"]): w["spec"]["template"]["metadata"]["labels"]
        for w in env.all("Deployment") + env.all("Job")
    }


def peers(rules: Rules):
    """Each rule as (who it admits or reaches, ports) in a comparable form."""
    result = set()
    for rule in rules:
        ports = tuple(p["port"] for p in rule.get("ports", []))
        for peer in rule.get("from", rule.get("to", [])):
            if "podSelector" in peer and "namespaceSelector" not in peer:
                wanted = peer["podSelector"]["matchLabels"].items()
                for (product, component), labels in workloads(rules.env).items():
                    if wanted <= labels.items():
                        result.add((("pod", product, component), ports))
            elif "namespaceSelector" in peer and "podSelector" not in peer:
                result.add((("namespace", peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]), ports))
            elif "ipBlock" in peer:
                result.add((("external", peer["ipBlock"]["cidr"]), ports))
            else:
                result.add((("dns",), ports))
    return result


def test_the_namespace_denies_everything_by_default():
    spec = stack_env("staging").get("NetworkPolicy", "default-deny")["spec"]
    # Every pod of the stack's units, and no other: in a shared namespace, others are not cut off.
    stack_pods = {"app.kubernetes.io/part-of": "maestro", "app.kubernetes.io/instance": "staging"}
    assert spec == {"podSelector": {"matchLabels": stack_pods}, "policyTypes": ["Ingress", "Egress"]}
    assert all(stack_pods.items() <= labels.items() for labels in workloads(stack_env("staging")).values())


def test_staging_allows_exactly_its_wires():
    env = stack_env("staging")
    dns = (("dns",), (53, 53))
    # The cluster's Prometheus scrapes each unit's metrics port; each product sends to the collector.
    scraped, traced = (("namespace", "monitoring"), (9464,)), (("namespace", "monitoring"), (4317,))
    assert peers(policy(env, "engine")["ingress"]) == {
        (("pod", "hive", "worker"), (8000,)),
        (("pod", "quality-fabric", "runner"), (8000,)),
        (("namespace", "ingress-nginx"), (8000,)),
        scraped,
    }
    assert peers(policy(env, "engine")["egress"]) == {dns, (("pod", "engine", "database"), (5432,)), traced}
    assert peers(policy(env, "engine-db")["ingress"]) == {(("pod", "engine", "api"), (5432,))}
    assert peers(policy(env, "frontend")["ingress"]) == {
        (("pod", "quality-fabric", "runner"), (8080,)),
        (("namespace", "ingress-nginx"), (8080,)),
        scraped,
    }
    # The browser calls the engine, not the frontend's pods.
    assert peers(policy(env, "frontend")["egress"]) == {dns, traced}
    assert peers(policy(env, "hive")["egress"]) == {dns, (("pod", "engine", "api"), (8000,)), traced}
    assert peers(policy(env, "hive")["ingress"]) == {scraped}
    assert peers(policy(env, "ml-platform")["ingress"]) == {scraped}
    # Its e2e suite loads https://app.<domain> and calls the API the frontend's config names,
    # https://api.<domain>/api: through the ingress controller, on 443.
    assert peers(policy(env, "quality-fabric-runner")["egress"]) == {
        dns,
        (("pod", "engine", "api"), (8000,)),
        (("pod", "frontend", "web"), (8080,)),
        (("namespace", "ingress-nginx"), (443,)),
        (("external", "0.0.0.0/0"), (443,)),
        traced,
    }


def admitted(env) -> dict[str, set]:
    """Every policy, as who it admits and who it reaches."""
    return {
        o["metadata"]["name"]: peers(policy(env, o["metadata"]["name"])["ingress"]) | {("to", p) for p in peers(policy(env, o["metadata"]["name"])["egress"])}
        for o in env.all("NetworkPolicy")
        if "ingress" in o["spec"]
    }


def test_adding_a_wire_adds_exactly_its_rules():
    without = admitted(render_env(config(engine={}, **{"ml-platform": {}})))
    after = admitted(render_env(config(engine={}, hive={}, **{"ml-platform": {}})))
    assert set(after) - set(without) == {"hive"}
    changed = {name for name in without if without[name] != after[name]}
    assert changed == {"engine"}
    assert after["engine"] - without["engine"] == {(("pod", "hive", "worker"), (8000,))}
    assert without["engine"] <= after["engine"]


def test_rewiring_to_an_external_engine_removes_the_in_cluster_rule():
    inside = render_env(config(engine={}, hive={}))
    outside = render_env(config(engine={}, hive={"engine": {"url": "https://engine.example.org:8443/api"}}))
    assert (("pod", "hive", "worker"), (8000,)) in peers(policy(inside, "engine")["ingress"])
    assert (("pod", "hive", "worker"), (8000,)) not in peers(policy(outside, "engine")["ingress"])
    assert peers(policy(outside, "hive")["egress"]) == {(("dns",), (53, 53)), (("external", "0.0.0.0/0"), (8443,))}


def test_quality_fabric_may_reach_an_external_target_only_on_its_ports():
    env = stack_env("qf-standalone")
    assert peers(policy(env, "quality-fabric-runner")["egress"]) == {(("dns",), (53, 53)), (("external", "0.0.0.0/0"), (443,))}
    assert peers(policy(env, "quality-fabric-api")["ingress"]) == {(("pod", "quality-fabric", "ui"), (8080,)), (("namespace", "monitoring"), (9464,))}


def test_without_a_domain_no_ingress_controller_is_let_in():
    env = render_env({"maestro:kubernetes": {"namespace": "x"}, "maestro:components": {"engine": {}}})
    assert not env.all("Ingress")
    assert ("namespace", "ingress-nginx") not in {key for key, _ in peers(policy(env, "engine")["ingress"])}
