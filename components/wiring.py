"""Which product calls which, said once: the stack's program, its checks, the exposure of its
public URLs, its CORS origins and a customer's own program all read this table.

A call goes to the product that serves it in the same stack unless the setting that overrides
it gives a URL (or another stack's output). Kept free of Pulumi imports, so that checking a
stack file stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal, Optional
from urllib.parse import urlsplit

from maestro_components.catalog import load_catalog

# internal: the callee's in-platform URL, for a process of the caller.
# public: its public URL, for a browser: the stack needs a public host for it.
# public if exposed: what a browser loads where there is one, else the in-platform URL.
# for a task: whichever the platform's tasks reach (Platform.task_url): on Docker's loopback the
# public one, since tasks that test public URLs run in the host's network there.
Address = Literal["internal", "public", "public if exposed", "for a task"]


@dataclass(frozen=True)
class Call:
    caller: str  # the product key that calls
    setting: str  # the key path under maestro:components whose endpoint replaces the default
    callee: str  # the product key that serves it by default, in the same stack
    unit: str  # the callee's unit that answers it
    endpoint: str  # the callee component's attribute with the URL; `public_<endpoint>` is the public one
    address: Address
    arg: str  # the caller component's argument that takes the URL
    lands_in: str  # where the caller's unit reads it: an env var or a field of its test config
    cors: bool  # a browser on the caller's origin calls it: the callee must allow that origin
    # The caller is built against the callee's API, so their versions must be compatible;
    # a tester of any target is not.
    versioned: bool
    required: str  # why the setting is needed in a stack without the callee
    required_by_suite: Optional[str] = None  # needed only when the caller runs this test suite
    # The caller loads the callee's pages as a browser would, so it also calls their public URL
    # and the API they call (the callee's `api_base`).
    as_browser: bool = False

    @property
    def api_base(self) -> bool:
        """The URL is an API's base, to which the caller appends its paths."""
        return self.endpoint == "api_url"


WIRING: tuple[Call, ...] = (
    Call(
        caller="frontend",
        setting="frontend.backend",
        callee="engine",
        unit="api",
        endpoint="api_url",
        address="public",
        arg="api_base",
        lands_in="env VITE_MAESTRO_API_BASE",
        cors=True,
        versioned=True,
        required="this stack has no engine, so give the API base a browser calls as backend.url",
    ),
    Call(
        caller="hive",
        setting="hive.engine",
        callee="engine",
        unit="api",
        endpoint="api_url",
        address="internal",
        arg="api_base",
        lands_in="env MAESTRO_API_BASE",
        cors=False,
        versioned=True,
        required="this stack has no engine, so give engine.url",
    ),
    Call(
        caller="quality-fabric",
        setting="quality-fabric.target.api_base",
        callee="engine",
        unit="api",
        endpoint="api_url",
        address="for a task",
        arg="api_base",
        lands_in="test config target.api_base",
        cors=False,
        versioned=False,
        required="this stack has no engine, so name the API that quality-fabric tests",
    ),
    Call(
        caller="quality-fabric",
        setting="quality-fabric.target.frontend_url",
        callee="frontend",
        unit="web",
        endpoint="url",
        address="public if exposed",
        arg="frontend_url",
        lands_in="test config target.frontend_url",
        cors=False,
        versioned=False,
        required="this stack has no frontend, so name the one to test",
        required_by_suite="e2e",
        # The e2e suite checks CORS from the frontend's origin and calls the API its config
        # names: both through the public hosts, which the network rules must let out.
        as_browser=True,
    ),
)


@dataclass(frozen=True)
class StackEndpoint:
    """An endpoint outside the products that every unit of a stack is wired to: set once for the
    stack (under maestro:observability), not per product, and not served by a product."""

    setting: str  # the key path under maestro: that gives it
    serves: str  # what answers there
    direction: Literal["calls", "called by"]  # every unit calls it, or it calls every unit
    default: Optional[str]  # what an omitted setting means; None: not wired
    lands_in: tuple[str, ...]  # the env vars it sets on every product, and the network rule it opens
    platform: Optional[str] = None  # the one platform it configures; None: every platform


OTLP_COLLECTOR = StackEndpoint(
    setting="observability.otlp_endpoint",
    serves="an OpenTelemetry collector, over OTLP",
    direction="calls",
    default=None,
    lands_in=(
        "env OTEL_EXPORTER_OTLP_ENDPOINT",
        "env OTEL_SERVICE_NAME",
        "env OTEL_RESOURCE_ATTRIBUTES",
        "network egress to its namespace or address, on its port",
    ),
)
CLUSTER_PROMETHEUS = StackEndpoint(
    setting="observability.prometheus_namespace",
    serves="the cluster's Prometheus, which scrapes each unit's metrics port",
    direction="called by",
    default="monitoring",
    lands_in=("network ingress from its namespace to each unit's metrics port, and no other port",),
    platform="kubernetes",
)
STACK_ENDPOINTS: tuple[StackEndpoint, ...] = (OTLP_COLLECTOR, CLUSTER_PROMETHEUS)


def _env_vars(places: Iterable[str]) -> frozenset[str]:
    return frozenset(where.split(" ", 1)[1] for where in places if where.startswith("env "))


def env_of(endpoint: StackEndpoint) -> frozenset[str]:
    """The variables an endpoint sets on every product."""
    return _env_vars(endpoint.lands_in)


def calls_of(caller: str) -> list[Call]:
    return [call for call in WIRING if call.caller == caller]


def wired_env_of(caller: str) -> frozenset[str]:
    """The variables the table's calls set on a caller's unit."""
    return _env_vars(call.lands_in for call in calls_of(caller))


def landing(caller: str, arg: str, kind: Literal["env", "test config"]) -> str:
    """Where the caller's unit reads the URL its component takes as `arg`, as the table says:
    the env var (kind "env") or the test config's field ("test config": `target.api_base`)."""
    (call,) = (call for call in calls_of(caller) if call.arg == arg)
    if not call.lands_in.startswith(f"{kind} "):
        raise ValueError(f"{caller}'s {arg} lands in {call.lands_in}, not in a {kind}")
    return call.lands_in.removeprefix(f"{kind} ")


def product_settings(components: Any, product: str) -> Any:
    """A product's settings in a stack's components (attributes named as the keys, `-` as `_`),
    or None where the stack has not got it."""
    return getattr(components, product.replace("-", "_"), None)


def override_of(components: Any, call: Call) -> Any:
    """The endpoint a stack's components give in the call's setting, or None (the default)."""
    product, *path = call.setting.split(".")
    value = product_settings(components, product)
    for part in path:
        value = getattr(value, part, None)
    return value


def origin(url: str) -> str:
    """A URL's origin as a browser sends it: scheme://host, with the port unless the default."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def public_urls(exposure: Any, names: Optional[dict[str, str]] = None) -> dict[str, str]:
    """Unit name -> where browsers reach it, for every unit with a public host on a platform
    with this exposure; `names`: product key -> its component's name, where not the key."""
    found = {}
    for key, defaults in load_catalog().items():
        for component, unit in defaults.units.items():
            url = exposure.public_url(unit.public_host, unit.port) if unit.public_host else None
            if url:
                found[defaults.unit_name((names or {}).get(key, key), component)] = url
    return found


def browser_origin(exposure: Any, product: str) -> Optional[str]:
    """The origin browsers load a product's pages from, when the platform exposes them."""
    for unit in load_catalog()[product].units.values():
        if unit.public_host:
            url = exposure.public_url(unit.public_host, unit.port)
            return origin(url) if url else None
    return None
