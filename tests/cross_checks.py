"""Cross-object checks of a Kubernetes render: the objects agree with each other and with the
traffic the wiring implies, as a cluster would find out. Each check returns the problems it
found (empty when all holds), so a test can also break a render by hand and watch it report."""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlsplit

WORKLOAD_KINDS = ("Deployment", "Job")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def _named(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in _by_kind(objects, kind)}


def _pods(objects: list[dict]) -> dict[str, dict]:
    """Workload name -> its pod template."""
    return {o["metadata"]["name"]: o["spec"]["template"] for o in objects if o["kind"] in WORKLOAD_KINDS}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def services_select_workloads(objects: list[dict]) -> list[str]:
    problems = []
    pods = _pods(objects)
    for service in _by_kind(objects, "Service"):
        name, spec = service["metadata"]["name"], service["spec"]
        chosen = [w for w, pod in pods.items() if _selects(spec["selector"], pod["metadata"]["labels"])]
        if not chosen:
            problems.append(f"Service {name} selects no workload's pods")
            continue
        for port in spec["ports"]:
            target = port.get("targetPort", port["port"])
            for w in chosen:
                container_ports = [p for c in pods[w]["spec"]["containers"] for p in c.get("ports", [])]
                if not any(target in (p.get("name"), p["containerPort"]) for p in container_ports):
                    problems.append(f"Service {name} targets port {target!r}, which {w}'s containers do not have")
    return problems


def ingress_backends_exist(objects: list[dict]) -> list[str]:
    problems = []
    services = _named(objects, "Service")
    for ingress in _by_kind(objects, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services.get(backend["name"])
                if service is None:
                    problems.append(f"Ingress {ingress['metadata']['name']} routes to a missing Service {backend['name']}")
                elif backend["port"]["number"] not in [p["port"] for p in service["spec"]["ports"]]:
                    problems.append(f"Ingress {ingress['metadata']['name']} routes to port {backend['port']['number']} that {backend['name']} lacks")
    return problems


def service_monitors_select_services(objects: list[dict]) -> list[str]:
    """Every ServiceMonitor selects a Service of its namespace by its labels, and scrapes a port
    that Service names: the Prometheus Operator would otherwise scrape nothing, silently."""
    problems = []
    for monitor in _by_kind(objects, "ServiceMonitor"):
        name, spec = monitor["metadata"]["name"], monitor["spec"]
        chosen = [
            s
            for s in _by_kind(objects, "Service")
            if s["metadata"].get("namespace") == monitor["metadata"].get("namespace")
            and _selects(spec["selector"]["matchLabels"], s["metadata"].get("labels", {}))
        ]
        if not chosen:
            problems.append(f"ServiceMonitor {name} selects no Service")
        for service in chosen:
            named = [p.get("name") for p in service["spec"]["ports"]]
            for endpoint in spec["endpoints"]:
                if endpoint.get("port") not in named:
                    problems.append(f"ServiceMonitor {name} scrapes port {endpoint.get('port')!r}, which Service {service['metadata']['name']} does not name")
    return problems


def _keys(obj: dict) -> set[str]:
    return set(obj.get("data") or {}) | set(obj.get("stringData") or {})


def references_exist(objects: list[dict], existing_claims: frozenset[str] = frozenset()) -> list[str]:
    """Every Secret, ConfigMap and claim a pod names exists, and so does every key it reads."""
    problems = []
    secrets, maps, claims = _named(objects, "Secret"), _named(objects, "ConfigMap"), _named(objects, "PersistentVolumeClaim")
    for workload, pod in _pods(objects).items():
        spec = pod["spec"]
        for container in spec["containers"]:
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref and (ref["name"] not in secrets or ref["key"] not in _keys(secrets[ref["name"]])):
                    problems.append(f"{workload}: env {var['name']} reads {ref['name']}/{ref['key']}, which does not exist")
        for volume in spec.get("volumes", []):
            for field, found, name_key in (("configMap", maps, "name"), ("secret", secrets, "secretName")):
                source = volume.get(field)
                if source is None:
                    continue
                owner = found.get(source[name_key])
                if owner is None:
                    problems.append(f"{workload}: volume {volume['name']} mounts a missing {field} {source[name_key]}")
                    continue
                for item in source.get("items", []):
                    if item["key"] not in _keys(owner):
                        problems.append(f"{workload}: volume {volume['name']} reads key {item['key']} that {source[name_key]} lacks")
            claim = volume.get("persistentVolumeClaim")
            if claim and claim["claimName"] not in claims and claim["claimName"] not in existing_claims:
                problems.append(f"{workload}: volume {volume['name']} claims a missing PersistentVolumeClaim {claim['claimName']}")
    return problems


def autoscaled_deployments_leave_replicas_alone(objects: list[dict]) -> list[str]:
    deployments = _named(objects, "Deployment")
    return [
        f"Deployment {target} sets replicas, which its HorizontalPodAutoscaler {hpa['metadata']['name']} owns"
        for hpa in _by_kind(objects, "HorizontalPodAutoscaler")
        if (target := hpa["spec"]["scaleTargetRef"]["name"]) in deployments and "replicas" in deployments[target]["spec"]
    ]


LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/instance", "app.kubernetes.io/part-of", "app.kubernetes.io/version", "app.kubernetes.io/managed-by")


def labels_are_consistent(objects: list[dict]) -> list[str]:
    """Every object of a unit (named after it) carries the unit's app.kubernetes.io labels, and
    every object at all carries the stack's (instance, part-of): label-based tools find them all."""
    problems = []
    units = {o["metadata"]["name"]: o["metadata"]["labels"] for o in objects if o["kind"] in WORKLOAD_KINDS}
    stack = next(iter(units.values()), {})
    for obj in objects:
        name, labels = obj["metadata"]["name"], obj["metadata"].get("labels") or {}
        for key in ("app.kubernetes.io/instance", "app.kubernetes.io/part-of"):
            if stack and labels.get(key) != stack.get(key):
                problems.append(f"{obj['kind']} {name}: {key} is {labels.get(key)!r}, not the stack's {stack.get(key)!r}")
        unit = next((u for u in sorted(units, key=len, reverse=True) if name == u or name.startswith(u + "-")), None)
        if unit and obj["kind"] != "Namespace":
            for key in LABELS:
                if labels.get(key) != units[unit].get(key):
                    problems.append(f"{obj['kind']} {name}: {key} is {labels.get(key)!r}, not its unit's {units[unit].get(key)!r}")
    return problems


# --- traffic: is every call in the wiring admitted at both ends? ---

def _policies_for(objects: list[dict], labels: dict[str, str]) -> list[dict]:
    return [p["spec"] for p in _by_kind(objects, "NetworkPolicy") if _selects(p["spec"]["podSelector"].get("matchLabels", {}), labels)]


def _admits(policies: list[dict], direction: str, peer: dict[str, Any], port: int) -> bool:
    """Whether the union of `policies` lets `peer` through in `direction` on `port`.
    `peer` is {"pod": labels} (same namespace), {"namespace": name} or {"ip": True}."""
    field = "from" if direction == "ingress" else "to"
    for spec in policies:
        for rule in spec.get(direction, []):
            ports = [p["port"] for p in rule.get("ports", [])]
            if ports and port not in ports:
                continue
            for source in rule.get(field, []):
                if "podSelector" in source and "namespaceSelector" not in source and "pod" in peer:
                    if _selects(source["podSelector"].get("matchLabels", {}), peer["pod"]):
                        return True
                if "namespaceSelector" in source and "podSelector" not in source and "namespace" in peer:
                    if source["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name") == peer["namespace"]:
                        return True
                if "ipBlock" in source and "ip" in peer:
                    return True
    return False


def calls_are_admitted(objects: list[dict], wiring: dict[str, Any], ingress_namespace: str = "ingress-nginx") -> list[str]:
    """Every call in the wiring graph, in the cluster or through a public URL, is let out by the
    caller's policies and let in by the callee's, on the callee's port."""
    problems = []
    pods = _pods(objects)
    # A unit's own port comes first; a metrics port after it is Prometheus's alone.
    ports = {name: s["spec"]["ports"][0]["port"] for name, s in _named(objects, "Service").items()}
    ingresses = {o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]: o for o in _by_kind(objects, "Ingress")}
    public = {o["spec"]["rules"][0]["host"]: name for name, o in ingresses.items()}
    for edge in wiring["edges"]:
        caller, target, via = edge["from"], edge["to"], edge["via"]
        if via == "browser" or caller not in pods:
            continue
        caller_labels = pods[caller]["metadata"]["labels"]
        out = _policies_for(objects, caller_labels)
        if via == "network" and target in pods:
            callee_labels = pods[target]["metadata"]["labels"]
            port = ports[target]
            if not _admits(out, "egress", {"pod": callee_labels}, port):
                problems.append(f"{caller} -> {target}:{port} is not let out by {caller}'s policies")
            if not _admits(_policies_for(objects, callee_labels), "ingress", {"pod": caller_labels}, port):
                problems.append(f"{caller} -> {target}:{port} is not let in by {target}'s policies")
        elif via == "public":
            url_port = 443 if target in ingresses and ingresses[target]["spec"].get("tls") else 80
            if not _admits(out, "egress", {"namespace": ingress_namespace}, url_port):
                problems.append(f"{caller} -> {target} (public host) is not let out to the ingress controller on {url_port}")
            callee_labels = pods[target]["metadata"]["labels"]
            if not _admits(_policies_for(objects, callee_labels), "ingress", {"namespace": ingress_namespace}, ports[target]):
                problems.append(f"{target} does not let in the ingress controller, which serves its public host")
        elif isinstance(target, str) and "://" in target:
            parts = urlsplit(target)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 5432 if parts.scheme.startswith("postgres") else 80)
            if parts.hostname in public:
                problems.append(f"{caller} calls {target}, a public host of this stack, drawn as external")
            elif (labels := parts.hostname.split("."))[2:] in (["svc"], ["svc", "cluster", "local"]):
                # A Service of another namespace by its in-cluster name (an OTLP collector).
                if not _admits(out, "egress", {"namespace": labels[1]}, port):
                    problems.append(f"{caller} -> {target} is not let out to namespace {labels[1]} on port {port}")
            elif not _admits(out, "egress", {"ip": True}, port):
                problems.append(f"{caller} -> {target} is not let out on port {port}")
    return problems


def all_problems(objects: list[dict], wiring: dict[str, Any], existing_claims: frozenset[str] = frozenset(), ingress_namespace: str = "ingress-nginx") -> list[str]:
    return (
        services_select_workloads(objects)
        + ingress_backends_exist(objects)
        + service_monitors_select_services(objects)
        + references_exist(objects, existing_claims)
        + autoscaled_deployments_leave_replicas_alone(objects)
        + labels_are_consistent(objects)
        + calls_are_admitted(objects, wiring, ingress_namespace)
    )


def collisions(renders: dict[str, list[dict]]) -> Iterator[str]:
    """Objects two stacks would both own on one cluster: the same kind and name in the same
    namespace, or the same cluster-scoped object (a Namespace)."""
    owner: dict[tuple, str] = {}
    for stack, objects in renders.items():
        for obj in objects:
            key = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
            if key in owner and owner[key] != stack:
                yield f"{owner[key]} and {stack} both own {key[0]} {key[1] or ''}/{key[2]}"
            owner.setdefault(key, stack)
