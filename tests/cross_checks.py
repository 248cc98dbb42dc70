"""Cross-object checks of a Kubernetes render: the objects agree with each other and with the
traffic the wiring implies, as a cluster would find out. Each check returns the problems it
found (empty when all holds), so a test can also break a render by hand and watch it report."""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlsplit

from maestro_components.kubernetes.network import DNS_EGRESS

WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def _named(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in _by_kind(objects, kind)}


def pod_template_of(workload: dict) -> dict:
    """A workload's pod template, wherever its kind keeps it."""
    spec = workload["spec"]
    return spec["jobTemplate"]["spec"]["template"] if workload["kind"] == "CronJob" else spec["template"]


def _pods(objects: list[dict]) -> dict[str, dict]:
    """Workload name -> its pod template."""
    return {o["metadata"]["name"]: pod_template_of(o) for o in objects if o["kind"] in WORKLOAD_KINDS}


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
        if len(chosen) > 1:
            problems.append(f"Service {name} selects the pods of several workloads: {', '.join(sorted(chosen))}")
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


def backups_reach_their_source_only(objects: list[dict]) -> list[str]:
    """Every CronJob (a backup) has a NetworkPolicy of its own that lets it reach its source and
    nothing else: the Service its SOURCE_HOST names, on that Service's port, which the source's
    policies let in (and the cluster's DNS, to find it); with no SOURCE_HOST (an archive of a
    volume), nothing at all. A volume it reads from another workload's pod is ReadWriteOnce: it
    runs on that pod's node (required pod affinity on the hostname), or it could not mount it."""
    problems = []
    pods, services = _pods(objects), _named(objects, "Service")
    for job in _by_kind(objects, "CronJob"):
        name, pod = job["metadata"]["name"], pod_template_of(job)
        labels = pod["metadata"]["labels"]
        own = [
            p for p in _by_kind(objects, "NetworkPolicy")
            if _selects(p["spec"]["podSelector"].get("matchLabels", {}), labels)
            and not any(_selects(p["spec"]["podSelector"].get("matchLabels", {}), other["metadata"]["labels"]) for w, other in pods.items() if w != name)
        ]
        if not own:
            problems.append(f"CronJob {name}: no NetworkPolicy of its own selects its pods")
        env = {v["name"]: v.get("value") for c in pod["spec"]["containers"] for v in c.get("env", [])}
        source = services.get((env.get("SOURCE_HOST") or "").split(".")[0])
        target, port = None, None
        if source is not None:
            port = source["spec"]["ports"][0]["port"]
            target = next((p["metadata"]["labels"] for p in pods.values() if _selects(source["spec"]["selector"], p["metadata"]["labels"])), {})
            if not _admits(_policies_for(objects, labels), "egress", {"pod": target}, port):
                problems.append(f"CronJob {name} is not let out to its source {source['metadata']['name']}:{port}")
            if not _admits(_policies_for(objects, target), "ingress", {"pod": labels}, port):
                problems.append(f"CronJob {name} is not let in by its source {source['metadata']['name']}'s policies")
        elif env.get("SOURCE_HOST"):
            problems.append(f"CronJob {name}: its SOURCE_HOST {env['SOURCE_HOST']} is no Service of the stack")
        for rule in (r for spec in _policies_for(objects, labels) for r in spec.get("egress", [])):
            if source is not None and rule == DNS_EGRESS:
                continue  # to find the source by its name
            to_source = target is not None and [p["port"] for p in rule.get("ports", [])] == [port] and all(
                set(peer) == {"podSelector"} and _selects(peer["podSelector"].get("matchLabels", {}), target) for peer in rule.get("to", [{}])
            )
            if not to_source:
                problems.append(f"CronJob {name} may reach more than its source: {rule}")
        problems += _placed_beside_its_source(name, pod, objects)
    return problems


def _placed_beside_its_source(name: str, pod: dict, objects: list[dict]) -> list[str]:
    problems = []
    terms = pod["spec"].get("affinity", {}).get("podAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
    for volume in pod["spec"].get("volumes", []):
        claim = volume.get("persistentVolumeClaim")
        if not claim or not claim.get("readOnly"):
            continue
        owners = [
            w for w in _by_kind(objects, "Deployment")
            if any(v.get("persistentVolumeClaim", {}).get("claimName") == claim["claimName"] for v in pod_template_of(w)["spec"].get("volumes", []))
        ]
        if not owners:
            problems.append(f"CronJob {name} reads claim {claim['claimName']}, which no Deployment mounts")
        for owner in owners:
            labels = pod_template_of(owner)["metadata"]["labels"]
            if not any(t.get("topologyKey") == "kubernetes.io/hostname" and _selects(t["labelSelector"].get("matchLabels", {}), labels) for t in terms):
                problems.append(f"CronJob {name} reads claim {claim['claimName']} but is not placed on the node of {owner['metadata']['name']}'s pod")
    return problems


def cronjobs_are_bounded(objects: list[dict]) -> list[str]:
    """A scheduled run never overlaps the last, starts late only within a deadline, is stopped
    after one, and leaves a bounded history of Jobs."""
    problems = []
    for job in _by_kind(objects, "CronJob"):
        spec, name = job["spec"], job["metadata"]["name"]
        if spec.get("concurrencyPolicy") != "Forbid":
            problems.append(f"CronJob {name}: concurrencyPolicy is {spec.get('concurrencyPolicy')!r}, not Forbid")
        for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            if key not in spec:
                problems.append(f"CronJob {name}: no {key}")
        if "activeDeadlineSeconds" not in spec["jobTemplate"]["spec"]:
            problems.append(f"CronJob {name}: its Jobs have no activeDeadlineSeconds")
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
        + backups_reach_their_source_only(objects)
        + cronjobs_are_bounded(objects)
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
