"""Turning a stack's raw config map into `StackSettings`, or every problem at once."""

from __future__ import annotations

import functools
import re
import typing
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

from pydantic import BaseModel, ValidationError

from maestro_components import grammar
from maestro_components.catalog import load_catalog
from maestro_components.products.facts import PRODUCTS
from maestro_components.quantity import quantity
from maestro_components.wiring import WIRING, override_of, product_settings

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.config.exposure import browser_calls_elsewhere, own_callees_recognised
from maestro_deploy.config.raw_checks import (
    NAMESPACE,
    collect_secrets,
    control_characters,
    encrypted_plain_keys,
    holds_secret,
    plain_secrets,
    secrets_in_plain_fields,
)
from maestro_deploy.config.parts import KeyPaths, parse_parts
from maestro_deploy.config.secure_values import reveal_offline
from maestro_deploy.config.stack_file import PROJECT_ROOT
from maestro_components.options import PATTERN_MEANING, Build, merge_resources
from maestro_deploy.config.settings import OBSERVABILITY_PLATFORM, StackSettings

RESERVED_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}


# A stack's name becomes part of container, network and volume names, a Compose project and a
# Kubernetes label value: a DNS label fits all of them.
STACK_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def stack_name_problems(name: str) -> list[Problem]:
    if STACK_NAME.fullmatch(name):
        return []
    shown = repr(name) if len(name) <= 80 else f"{name[:40]!r}... ({len(name)} characters)"
    return [
        Problem(
            "stack",
            f"{shown}: expected a DNS label, lowercase letters, digits and '-', at most 63: "
            "it names containers, volumes, a Compose project and Kubernetes labels",
        )
    ]


def parse_settings(raw: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> StackSettings:
    """Validate a stack's `config:` map (keys as `maestro:components`): its settings, or
    ConfigError with every problem."""
    parsed = examine(raw, secret_keys)
    if parsed.problems:
        raise ConfigError(parsed.problems, parsed.skipped)
    return parsed.settings


@dataclass
class Examined:
    """A stack's config, every check run on every part that parsed."""

    settings: Optional[StackSettings]  # of the parts that parsed; None: not even those
    problems: list[Problem]
    unparsed: KeyPaths  # the keys set aside, which no later check may read as omitted
    skipped: list[str]  # a line for each check that could not run, and why
    # Products whose endpoint, written as a mapping, did not parse: it may name another stack's
    # product, so which one they call is unknown. (A string is a URL, paired as any URL is.)
    unknown_callees: frozenset[str] = frozenset()


def examine(raw: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> Examined:
    """Every check on every part of `raw`: a key that does not parse is an error, and the
    checks between keys run on the rest (see config/parts.py).

    `secret_keys`: the config keys the Pulumi CLI marked secret (values arrive decrypted);
    offline, encrypted `{secure: ...}` values tell it exactly.
    """
    problems: list[Problem] = []
    ours: dict[str, Any] = {}
    secrets = collect_secrets(raw)
    raw, secure = reveal_offline(raw)
    problems.extend(encrypted_plain_keys(secure))
    controlled = list(control_characters(raw))
    problems.extend(controlled)
    for key, value in raw.items():
        namespace, sep, name = str(key).partition(":")
        if not sep:
            problems.append(Problem(str(key), f"config keys are namespaced; did you mean `{NAMESPACE}:{key}`?"))
        elif not namespace or not name:
            problems.append(Problem(str(key), "expected a config key as project:key, neither part empty"))
        elif namespace == NAMESPACE:
            ours[name] = value
    if isinstance(ours.get("components"), dict):
        # `hive:` with nothing after it is the product with its defaults, not no product.
        ours["components"] = {k: {} if v is None else v for k, v in ours["components"].items()}
        # Other namespaces (`kubernetes:`, `docker:`) configure providers: not ours to judge.
    # A value with a control character passed its `$` pattern, and an encrypted one where no
    # secret belongs is a placeholder: set aside, as a value that does not parse, from the checks below.
    aside = {_location(p.path) for p in problems if p.path.startswith(f"{NAMESPACE}:")}
    try:
        StackSettings.model_validate(ours)
    except ValidationError as err:
        # A value with a control character in it is said so once, not again as a bad value.
        said = KeyPaths(frozenset(p.path for p in controlled))
        found = _from_pydantic(err, ours, lambda path: holds_secret(path, secure, secret_keys))
        problems.extend(p for p in found if p.path not in said)
    settings, unparsed_locations = parse_parts(ours, aside)
    unparsed = KeyPaths(frozenset(_format_path(loc) for loc in unparsed_locations))
    raw_problems = [*secrets_in_plain_fields(raw, secrets), *plain_secrets(ours, secure, secret_keys)]
    problems.extend(_once(problems, raw_problems))
    skipped: list[str] = []
    if settings is None:
        skipped.append("the checks between keys and the compatibility checks did not run: the config does not parse even without the keys refused above")
    elif f"{NAMESPACE}:platform" in unparsed:
        skipped.append(f"the checks between keys did not run: {NAMESPACE}:platform did not parse, and each depends on it")
    else:
        problems.extend(_once(problems, (p for p in _cross_checks(settings, unparsed) if p.path not in unparsed)))
        # Each key once: one within another that was set aside is said with it.
        keys = sorted(p for p in unparsed.paths if p not in KeyPaths(unparsed.paths - {p}))
        if keys:
            refused = "its value is" if len(keys) == 1 else "their values are"
            skipped.append(f"the checks that read {', '.join(keys)} did not run: {refused} refused above")
    if settings is not None and not problems:
        settings = own_callees_recognised(settings)
    unknown_callees = frozenset(
        call.caller
        for call in WIRING
        if call.versioned and f"{NAMESPACE}:components.{call.setting}" in unparsed and not isinstance(_written(ours, call.setting), str)
    )
    return Examined(settings, problems, unparsed, skipped, unknown_callees)


def _written(ours: dict[str, Any], setting: str) -> Any:
    """The value the stack file gives a product's setting (`frontend.backend`), or None."""
    value: Any = ours.get("components")
    for part in setting.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _once(said: list[Problem], found: Iterable[Problem]) -> list[Problem]:
    """The problems of a later check at a key no earlier one named: one line says what is wrong there."""
    named = KeyPaths(frozenset(p.path for p in said))
    return [p for p in found if p.path not in named]


def _location(path: str) -> tuple:
    """`maestro:components.engine.env.A` -> ("components", "engine", "env", "A"), as pydantic locates it."""
    return tuple(
        int(part[1:-1]) if part.startswith("[") else part
        for part in re.findall(r"\[\d+\]|[^.\[]+", path.removeprefix(f"{NAMESPACE}:"))
    )


def _observability_checks(s: StackSettings) -> Iterator[Problem]:
    """Each observability key where its platform has what it configures."""
    o = s.observability
    if o is None:
        return
    for key, platform in OBSERVABILITY_PLATFORM.items():
        if getattr(o, key) is not None and s.platform != platform:
            yield Problem(f"maestro:observability.{key}", f"only for maestro:platform {platform}; this stack runs on {s.platform}")
    if o.metrics and o.metrics.build:
        yield from _build_problems("maestro:observability.metrics.build", o.metrics.build)


def _build_problems(path: str, build: Build) -> Iterator[Problem]:
    """A build's Dockerfile exists, and each build arg (an env string of its RUN steps) fits."""
    dockerfile = PROJECT_ROOT / build.context / (build.dockerfile or "Dockerfile")
    try:
        found = dockerfile.is_file()
    except OSError:  # a name longer than the file system takes: no such file either
        found = False
    if not found:
        yield Problem(
            f"{path}.context",
            f"no {build.dockerfile or 'Dockerfile'} in {(PROJECT_ROOT / build.context).resolve()} (relative to the project directory)",
        )
    yield from _env_size_problems(f"{path}.args", build.args)


def _cross_checks(s: StackSettings, unparsed: KeyPaths) -> Iterator[Problem]:
    """The checks between keys, on the keys that parsed: one set aside is not read as omitted."""
    c = s.components
    k = s.kubernetes
    if s.platform == "kubernetes":
        if k is None:
            yield Problem("maestro:kubernetes", "required when maestro:platform is kubernetes (it names the namespace)")
        elif k.namespace in RESERVED_NAMESPACES or k.namespace.startswith("kube-"):
            yield Problem("maestro:kubernetes.namespace", f"{k.namespace!r} is reserved; give the stack a namespace of its own")
        if k and k.domain:
            yield from _host_length_problems("maestro:kubernetes.domain", k.domain)
        if k:
            yield from _admitted_problems(k)
    elif k is not None:
        yield Problem("maestro:kubernetes", f"only for maestro:platform kubernetes; this stack runs on {s.platform}")
    if s.platform != "docker" and s.docker is not None:
        yield Problem("maestro:docker", f"only for maestro:platform docker; this stack runs on {s.platform}")
    elif s.docker is not None:
        yield from _host_length_problems("maestro:docker.domain", s.docker.domain)
    yield from _observability_checks(s)
    if k and k.tls:
        if k.domain is None and "maestro:kubernetes.domain" not in unparsed:
            yield Problem("maestro:kubernetes.tls", "needs maestro:kubernetes.domain: TLS is for the public hosts")
        given = [k.tls.secret_name is not None, k.tls.cluster_issuer is not None, k.tls.certificate is not None]
        if sum(given) != 1:
            yield Problem("maestro:kubernetes.tls", "give exactly one of secret_name, cluster_issuer, or certificate with key")
        if (k.tls.certificate is None) != (k.tls.key is None):
            yield Problem("maestro:kubernetes.tls", "certificate and key go together")
    for _, key, product in products(s):
        path = f"maestro:components.{key}"
        for name in sorted(PRODUCTS[key].wired_env & product.env.keys()):
            yield Problem(f"{path}.env.{name}", "set by the wiring; configure it through its own key instead")
        if PRODUCTS[key].single_replica:
            if (product.replicas or 1) > 1:
                yield Problem(f"{path}.replicas", "must be 1: its data lives on a single ReadWriteOnce volume")
            if product.autoscaling:
                yield Problem(f"{path}.autoscaling", "not available: its data lives on a single ReadWriteOnce volume")
        builds = [(f"{path}.build", product.build)]
        if key == "engine" and product.database:
            builds.append((f"{path}.database.build", product.database.build))
        for build_path, build in builds:
            if build and s.platform != "docker":
                yield Problem(build_path, "only on the docker platform: a cluster pulls images, so give `image`")
            elif build:
                yield from _build_problems(build_path, build)
        if s.platform == "docker":
            if (product.replicas or 1) > 1:
                yield Problem(f"{path}.replicas", "must be 1: the docker platform runs one container per unit")
            if product.autoscaling:
                yield Problem(f"{path}.autoscaling", "not available on the docker platform: one container per unit")
        yield from _resource_problems(f"{path}.resources", key, product.resources, s.platform)
        yield from _env_size_problems(f"{path}.env", product.env)
        if product.image and product.digest:
            yield Problem(f"{path}.digest", "conflicts with image: put the digest in the image reference")
        if product.autoscaling:
            if product.replicas is not None:
                yield Problem(f"{path}.replicas", "conflicts with autoscaling: give min_replicas instead")
            if product.autoscaling.min_replicas > product.autoscaling.max_replicas:
                yield Problem(f"{path}.autoscaling.min_replicas", "must not exceed max_replicas")
    yield from _external_services(s)
    yield from _backup_problems(s)
    for call in WIRING:
        if product_settings(c, call.caller) is not None:
            yield from _endpoint_problems(f"maestro:components.{call.setting}", override_of(c, call), call.api_base)
    yield from _unwired_calls(s, unparsed)


def _unwired_calls(s: StackSettings, unparsed: KeyPaths) -> Iterator[Problem]:
    """A call with no product in the stack to serve it needs its setting; a browser's call to
    this stack's product needs a public host."""
    present = {key: product for _, key, product in products(s)}
    for call in WIRING:
        if call.caller not in present or override_of(s.components, call) is not None:
            continue
        path = f"maestro:components.{call.setting}"
        if path in unparsed or f"maestro:components.{call.callee}" in unparsed:
            continue  # given, but it did not parse: whether it calls this stack's product is unknown
        if call.callee not in present:
            if call.required_by_suite is None:
                yield Problem(path, f"required: {call.required}")
            elif call.required_by_suite in _suites(present[call.caller], call.caller, unparsed):
                yield Problem(path, f"required by the {call.required_by_suite} suite: {call.required}")
        elif call.address == "public" and s.platform == "kubernetes" and s.kubernetes and s.kubernetes.domain is None and "maestro:kubernetes.domain" not in unparsed:
            yield Problem(
                "maestro:kubernetes.domain",
                f"required: the {call.caller} uses this stack's {call.callee}, whose API a browser must reach on a public host",
            )


def _suites(product: Any, key: str, unparsed: KeyPaths) -> list[str]:
    """The suites a product runs; none known where the stack's list of them did not parse."""
    if f"maestro:components.{key}.test_suites" in unparsed:
        return []
    return product.test_suites or load_catalog()[key].test_suites


# Beyond these, a value is a typo (cores, not millicores; Gi, not Ti), not a plan.
RESOURCE_CEILING = {"cpu": (64, "64 cores"), "memory": (2**40, "1Ti")}
# Docker refuses a memory limit below 6 MiB.


def _host_length_problems(path: str, domain: str) -> Iterator[Problem]:
    """The public hosts are <host>.<domain>: each a host name of at most 253 characters."""
    for label in sorted({u.public_host for d in load_catalog().values() for u in d.units.values() if u.public_host}):
        if len(f"{label}.{domain}") > grammar.MAX_HOST_NAME:
            yield Problem(path, f"too long: the public host {label}.<domain> would exceed {grammar.MAX_HOST_NAME} characters")
            return


def _env_size_problems(path: str, env: dict[str, str]) -> Iterator[Problem]:
    """One variable beyond the kernel's limit for one env string (`NAME=value`), or all of them
    beyond what one Deployment may hold beside the rest of its spec."""
    for name, value in env.items():
        if problem := grammar.size_problem(f"{name}={value}", grammar.MAX_ENV_VALUE, "NAME=value, the kernel's limit for one environment variable"):
            yield Problem(f"{path}.{name}", problem)
    total = _env_bytes(env)
    if total > grammar.MAX_CONFIG_DATA:
        yield Problem(
            path,
            f"{total} bytes in all; at most {grammar.MAX_CONFIG_DATA // 2**20} MiB, so that the Deployment that carries "
            f"them stays within the {grammar.MAX_OBJECT / 2**20:g} MiB the API server stores in one object",
        )


def _env_bytes(env: dict[str, str]) -> int:
    """What a unit's env weighs where it lands: each `NAME=value`, in bytes."""
    return sum(grammar.size(f"{name}={value}") for name, value in env.items())


def _resource_problems(path: str, key: str, resources: Any, platform: str) -> Iterator[Problem]:
    if resources is None:
        return
    found = list(_amount_problems(path, resources, platform))
    if found:
        yield from found  # comparing requests with limits would only repeat them
        return
    # As deployed: the stack's amounts over the catalog's, for every unit of the product.
    for unit in load_catalog()[key].units.values():
        merged = merge_resources(unit.resources, resources)
        for name in ("cpu", "memory"):
            low, high = merged.get("requests", {}).get(name), merged.get("limits", {}).get(name)
            if low is not None and high is not None and quantity(low) > quantity(high):
                yield Problem(f"{path}.requests.{name}", f"{low} exceeds the limit {high}")
                return


def _amount_problems(path: str, resources: Any, platform: str) -> Iterator[Problem]:
    for kind in ("requests", "limits"):
        amounts = getattr(resources, kind)
        for name in ("cpu", "memory"):
            value = getattr(amounts, name) if amounts else None
            where = f"{path}.{kind}.{name}"
            if value is None:
                continue
            docker_limit = kind == "limits" and platform == "docker"
            if name == "memory" and (problem := grammar.bytes_problem(value)):
                yield Problem(where, problem)
            elif quantity(value) == 0:
                yield Problem(where, "must be more than 0")
            elif name == "cpu" and quantity(value) < grammar.MIN_CPU:
                yield Problem(where, f"{value} is finer than Kubernetes counts CPU: at least 1m (a millicore)")
            elif quantity(value) > RESOURCE_CEILING[name][0]:
                yield Problem(where, f"{value} is absurd: at most {RESOURCE_CEILING[name][1]}")
            elif name == "memory" and docker_limit and quantity(value) < grammar.DOCKER_MIN_MEMORY:
                yield Problem(where, f"{value} is below Docker's minimum memory limit of 6Mi")
            elif name == "cpu" and docker_limit and quantity(value) < grammar.DOCKER_MIN_CPUS:
                yield Problem(where, f"{value} is below Docker's minimum of 0.01 CPUs (10m)")


def _admitted_problems(k: Any) -> Iterator[Problem]:
    """Each admitted namespace is another stack's: the stack's own would let every pod in it call
    the engine, past the rule that admits only the units wired to it; one named twice is a rule twice."""
    seen: set[str] = set()
    for i, namespace in enumerate(k.admit_namespaces):
        path = f"maestro:kubernetes.admit_namespaces[{i}]"
        if namespace == k.namespace:
            yield Problem(path, f"{namespace!r} is this stack's own namespace: its units that call the engine are admitted by the wiring, and no other pod may be")
        elif namespace in seen:
            yield Problem(path, f"{namespace!r} is named twice")
        seen.add(namespace)


def _endpoint_problems(path: str, endpoint: Any, api_base: bool) -> Iterator[Problem]:
    """`api_base`: the URL is an API's base, to which the caller appends its paths."""
    if endpoint is None:
        return
    if endpoint.url is not None and (endpoint.stack or endpoint.output):
        yield Problem(path, "give url, or stack and output, not both")
    elif endpoint.url is None and not (endpoint.stack and endpoint.output):
        yield Problem(path, "give url, or stack and output (another stack's output that holds the URL)")
    elif api_base and endpoint.url is not None and (problem := grammar.api_base_problem(endpoint.url)):
        yield Problem(path, problem)


def _exactly_one(path: str, bundled: Any, external: Any, external_key: str) -> Iterator[Problem]:
    if bundled and external is not None:
        yield Problem(path, f"give bundled: true or {external_key}, not both")
    elif not bundled and external is None:
        yield Problem(path, f"give bundled: true or {external_key}")


def _own_volume(name: str) -> bool:
    """Whether a volume name is one the stack creates for a product's data: <unit>-data-<n>
    (PersistentVolumeClaims), maestro-<stack>-<unit>-data-<n> (Docker volumes), or for its
    backups: <unit>-backup."""
    return any(re.search(rf"(^|-){re.escape(unit)}-(data-[0-9]+|backup)$", name) for unit in _data_units())


@functools.cache
def _data_units() -> tuple[str, ...]:
    """The units that keep data, as the catalog says: a database and units with `data`."""
    found = []
    for key, defaults in load_catalog().items():
        if defaults.database:
            found.append(defaults.database_unit_name(key))
        found += [defaults.unit_name(key, c) for c, unit in defaults.units.items() if unit.data]
    return tuple(found)


def _external_services(s: StackSettings) -> Iterator[Problem]:
    c = s.components
    if c.engine and (db := c.engine.database) is not None:
        path = "maestro:components.engine.database"
        yield from _exactly_one(path, db.bundled, db.url, "url")
        for field in ("image", "build"):
            if getattr(db, field) and not db.bundled:
                yield Problem(f"{path}.{field}", "only with bundled: true")
    mounted: dict[str, str] = {}
    catalog = load_catalog()
    for _, key, product in products(s):
        if not any(unit.data for unit in catalog[key].units.values()):
            continue
        storage = product.storage
        if storage is None:
            continue
        yield from _storage_problems(f"maestro:components.{key}.storage", key, storage, mounted)


def _backup_problems(s: StackSettings) -> Iterator[Problem]:
    """The backup claim: as a product's storage, and never a volume a product mounts."""
    if s.backup is None or s.backup.storage is None:
        return
    mounted = {p.storage.existing: key for _, key, p in products(s) if getattr(p, "storage", None) and p.storage.existing}
    yield from _storage_problems("maestro:backup.storage", "the backups", s.backup.storage, mounted)


def _storage_problems(path: str, owner: str, storage: Any, mounted: dict[str, str]) -> Iterator[Problem]:
    """Bundled storage or an existing volume, one owner each (`mounted`: volume -> owner so far)."""
    if storage.existing:
        if storage.existing in mounted:
            yield Problem(
                f"{path}.existing",
                f"{storage.existing!r} is mounted by {mounted[storage.existing]} already: two products on one "
                "volume would write over each other's data",
            )
        elif _own_volume(storage.existing):
            yield Problem(f"{path}.existing", f"{storage.existing!r} is the name of a volume this stack creates for a product")
        mounted[storage.existing] = owner
    bundled = storage.bundled if storage.bundled is not None else storage.existing is None
    yield from _exactly_one(path, bundled, storage.existing, "existing")
    if storage.size is not None and (problem := grammar.bytes_problem(storage.size)):
        yield Problem(f"{path}.size", problem)
    if storage.existing and (storage.size or storage.storage_class):
        yield Problem(path, "size and storage_class are for bundled storage; an existing volume has its own")


def warnings(s: StackSettings) -> list[Problem]:
    """Valid but risky choices: said aloud by `check`, `render` and `pulumi up`."""
    found = []
    d = s.docker
    if s.platform == "docker" and d and d.publish and not d.bind_address.startswith("127."):
        found.append(
            Problem(
                "maestro:docker.bind_address",
                f"{d.bind_address} is not loopback: the stack's public ports are reachable from other machines",
            )
        )
    k = s.kubernetes
    if s.platform == "kubernetes" and k and k.domain and not k.ingress_class:
        found.append(
            Problem(
                "maestro:kubernetes.ingress_class",
                "omitted: the Ingresses name no class, so only a cluster with a default IngressClass serves them",
            )
        )
    found += _backup_warnings(s)
    if s.platform == "kubernetes":
        for _, key, product in products(s):
            total = _env_bytes(product.env)
            if total > grammar.MAX_ANNOTATIONS // 2:
                found.append(
                    Problem(
                        f"maestro:components.{key}.env",
                        f"{total} bytes in all: apply the render server-side (kubectl apply --server-side -k, Argo CD's "
                        f"ServerSideApply=true); a client-side apply copies each object into an annotation, and an "
                        f"object's annotations hold at most {grammar.MAX_ANNOTATIONS // 2**10} KiB",
                    )
                )
    for call, endpoint, caller_origin in browser_calls_elsewhere(s):
        api = endpoint.url or f"the URL in stack {endpoint.stack}'s output {endpoint.output}"
        found.append(
            Problem(
                f"maestro:components.{call.setting}",
                f"browsers load this {call.caller} from {caller_origin} and call {api} from there: that backend "
                f"is outside this stack and must allow the origin {caller_origin} (CORS), or every call is blocked",
            )
        )
    return found


def _backup_warnings(s: StackSettings) -> list[Problem]:
    if s.backup is None:
        return []
    if s.platform == "docker":
        return [
            Problem(
                "maestro:backup",
                "schedules nothing on the docker platform: run `maestro-deploy backup <stack>` (from the host's cron, say)",
            )
        ]
    engine = s.components.engine
    bundled_database = engine is not None and (engine.database is None or bool(engine.database.bundled))
    keeps_data = any(unit.data for _, key, _ in products(s) for unit in load_catalog()[key].units.values())
    if not (bundled_database or keeps_data):
        return [Problem("maestro:backup", "schedules nothing: the stack has no bundled database, registry or ml-platform")]
    return []


def products(s: StackSettings) -> Iterator[tuple[str, str, Any]]:
    """(field name, product key, settings) of every product in the stack."""
    for name, field in type(s.components).model_fields.items():
        product = getattr(s.components, name)
        if product is not None:
            yield name, field.alias or name, product


def _from_pydantic(err: ValidationError, ours: dict[str, Any], holds_secret) -> Iterator[Problem]:
    for e in err.errors(include_url=False):
        loc = _as_written(tuple(part for part in e["loc"] if part != "[key]"), ours)
        path = _format_path(loc)
        if e["type"] == "extra_forbidden":
            known = _known_keys(loc[:-1])
            hint = f"; expected one of: {', '.join(known)}" if known else ""
            yield Problem(path, f"unknown key{hint}")
        elif e["type"] == "missing":
            yield Problem(path, "required")
        else:
            pattern = (e.get("ctx") or {}).get("pattern")
            message = PATTERN_MEANING.get(pattern) or e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            # Quoted only when short, plain and holding no `@` after its first character: before
            # one, a URL (with its scheme or not) carries its user and password, and a short
            # password is no less secret. (`@nightly` is a cron macro.)
            credentials = isinstance(got, str) and "@" in got[1:]
            if not holds_secret(path) and not credentials and isinstance(got, (str, int, float, bool)) and len(str(got)) <= 80:
                message += f" (got {got!r})"
            yield Problem(path, message)


def _as_written(loc: tuple, ours: dict[str, Any]) -> tuple:
    """`loc` up to a string the user wrote where a mapping may go: a URL given as a string is
    parsed as `{url: ...}`, but `url` is not in the file."""
    value: Any = ours
    for i, part in enumerate(loc):
        if isinstance(value, str):
            return loc[:i]
        value = value.get(part) if isinstance(value, dict) else None
    return loc


def _format_path(loc: tuple) -> str:
    path = NAMESPACE
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += (":" if i == 0 else ".") + str(part)
    return path


def _known_keys(loc: tuple) -> list[str]:
    """The keys a model at `loc` accepts, to suggest the right one after a typo."""
    model: Any = StackSettings
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return []


def _model_in(annotation: Any) -> Any:
    """Optional[X] -> X, so the walk can go through optional sub-models."""
    for arg in typing.get_args(annotation) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
