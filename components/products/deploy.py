"""Deploy products wired to each other by the wiring table, as the tool's stacks are:

    found = deploy_products(platform, {"engine": EngineOptions(), "frontend": FrontendOptions()})
    found["frontend"].public_url

Each call goes to the product serving it in the same deployment, unless `endpoints` gives its
URL by the call's setting (`{"frontend.backend": "https://api.example.com/api"}`); an engine
allows the origin of every frontend wired to it.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi

from maestro_components.products.engine import Engine, EngineArgs
from maestro_components.products.facts import PRODUCTS
from maestro_components.products.frontend import Frontend, FrontendArgs
from maestro_components.products.hive import Hive, HiveArgs
from maestro_components.products.ml_platform import MlPlatform, MlPlatformArgs
from maestro_components.products.quality_fabric import QualityFabric, QualityFabricArgs
from maestro_components.products.registry import Registry, RegistryArgs
from maestro_components.catalog import load_catalog
from maestro_components.options import (
    EngineOptions,
    FrontendOptions,
    HiveOptions,
    MlPlatformOptions,
    QualityFabricOptions,
    RegistryOptions,
)
from maestro_components.unit import Platform
from maestro_components.wiring import WIRING, Call, browser_origin, calls_of

# product key -> its component, its Args and the options it takes
COMPONENTS = {
    "engine": (Engine, EngineArgs, EngineOptions),
    "frontend": (Frontend, FrontendArgs, FrontendOptions),
    "hive": (Hive, HiveArgs, HiveOptions),
    "quality-fabric": (QualityFabric, QualityFabricArgs, QualityFabricOptions),
    "ml-platform": (MlPlatform, MlPlatformArgs, MlPlatformOptions),
    "registry": (Registry, RegistryArgs, RegistryOptions),
}


def deploy_products(
    platform: Platform,
    options: Mapping[str, Any],
    *,
    names: Optional[Mapping[str, str]] = None,
    endpoints: Optional[Mapping[str, pulumi.Input[str]]] = None,
    args: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> dict[str, pulumi.ComponentResource]:
    """Deploy every product in `options` (product key -> its options), callees first.

    `names`: product key -> its component's name (default: the key); `endpoints`: a call's
    setting -> the URL it uses instead of the product in this deployment; `args`: product
    key -> further arguments of its component (`admitted_from`, `api_token` ...)."""
    _check_keys(options, names or {}, endpoints or {}, args or {})
    names = {key: (names or {}).get(key, key) for key in options}
    endpoints = endpoints or {}
    deployed: dict[str, Any] = {}
    for key in (key for key in PRODUCTS if key in options):
        component, component_args, _ = COMPONENTS[key]
        wired = _wiring_args(key, platform, deployed, names, endpoints, set(options))
        extra = dict((args or {}).get(key, {}))
        deployed[key] = component(names[key], component_args(platform=platform, options=options[key], **wired, **extra))
    return deployed


def _check_keys(options: Mapping[str, Any], names: Mapping[str, str], endpoints: Mapping[str, Any], args: Mapping[str, Any]) -> None:
    """A misspelled key would deploy nothing, or be ignored: each is a ValueError naming it."""
    if not isinstance(options, Mapping):
        raise TypeError(f"options: expected a mapping of product key to its options, got {type(options).__name__}")
    for key, given in options.items():
        if key not in COMPONENTS:
            raise ValueError(f"options: unknown product {key!r}; expected one of: {', '.join(COMPONENTS)}")
        expected = COMPONENTS[key][2]
        if not isinstance(given, expected):
            raise TypeError(f"options[{key!r}]: expected {expected.__name__}, got {type(given).__name__}")
    for where, keys in (("names", names), ("args", args)):
        for key in keys:
            if key not in options:
                raise ValueError(f"{where}: {key!r} is not a product being deployed (options has: {', '.join(options)})")
    settings = {call.setting for call in WIRING if call.caller in options}
    for setting in endpoints:
        if setting not in settings:
            raise ValueError(f"endpoints: {setting!r} is no call of the products being deployed (expected one of: {', '.join(sorted(settings))})")


def _wiring_args(
    key: str,
    platform: Any,
    deployed: dict[str, Any],
    names: dict[str, str],
    endpoints: Mapping[str, pulumi.Input[str]],
    present: set[str],
) -> dict[str, Any]:
    """The URLs a product's component takes from the wiring, what it calls, and, for a
    callee, the browser origins it must allow."""
    urls: dict[str, Any] = {}
    given: list[Any] = []  # URLs from `endpoints`, called first
    local: list[Any] = []  # units in this deployment
    for call in calls_of(key):
        if call.setting in endpoints:
            urls[call.arg] = endpoints[call.setting]
            given.append(endpoints[call.setting])
        elif call.callee in deployed:
            urls[call.arg], reached = _reach(call, deployed[call.callee], names[call.callee], platform)
            local += reached
        elif call.required_by_suite is None:
            raise ValueError(f"{names[key]} calls {call.callee}: deploy it, or give its URL as endpoints[{call.setting!r}]")
        else:
            urls[call.arg] = None
    calls = given + local
    if any(call.cors for call in calls_of(key)):
        # Its calls are its browsers': it hands them one API to call, served by `backend`.
        return {**urls, "backend": calls[0]}
    if calls_of(key):
        return {**urls, "calls": calls}
    browser_callers = [c for c in WIRING if c.callee == key and c.cors]
    if not browser_callers:
        return {}
    origins = [
        browser_origin(platform.exposure, c.caller)
        for c in browser_callers
        if c.caller in present and c.setting not in endpoints
    ]
    return {"frontend_origins": [o for o in origins if o]}


def _reach(call: Call, callee: Any, name: str, platform: Platform) -> tuple[Any, list[Any]]:
    """(URL, what the caller calls) of a call to a product deployed with it."""
    internal = getattr(callee, call.endpoint)
    public = getattr(callee, f"public_{call.endpoint}")
    if call.address == "for a task":
        return platform.task_url(internal, public), [load_catalog()[call.callee].unit_name(name, call.unit)]
    url = {"internal": internal, "public": public, "public if exposed": public or internal}[call.address]
    reached = [load_catalog()[call.callee].unit_name(name, call.unit)]
    if call.as_browser:
        reached += [u for u in (public, callee.api_base) if u is not None]
    return url, reached
