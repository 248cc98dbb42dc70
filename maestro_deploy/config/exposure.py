"""Where a stack's units answer, from its settings alone: the platform's exposure, and who
may call the engine's in-cluster API.

The program hands it to the platform; `check` uses it to name, before anything runs, the
origin a browser loads this stack's frontend from (which the engine must allow)."""

from __future__ import annotations

from typing import Any, Iterator, Union

from maestro_components import wiring
from maestro_components.catalog import load_catalog
from maestro_components.exposure import OWN_TLS_SECRET, DockerExposure, Exposure
from maestro_components.wiring import WIRING, Call, browser_origin, override_of, product_settings

from maestro_deploy.config.settings import Docker, StackSettings


def exposure_of(settings: StackSettings) -> Union[DockerExposure, Exposure]:
    if settings.platform == "docker":
        d = settings.docker or Docker()
        return DockerExposure(domain=d.domain, bind_address=d.bind_address, publish=d.publish)
    k = settings.kubernetes
    tls = k.tls if k else None
    return Exposure(
        domain=k.domain if k else None,
        ingress_class=k.ingress_class if k else None,
        # A certificate given in the stack is served from the Secret the platform makes of it.
        tls_secret=(tls.secret_name or (OWN_TLS_SECRET if tls.certificate else None)) if tls else None,
        cluster_issuer=tls.cluster_issuer if tls else None,
        ingress_namespace=k.ingress_namespace if k else None,
    )


def public_urls(settings: StackSettings) -> dict[str, str]:
    """Unit name -> where browsers reach it on this stack's platform, for every unit with a public
    host, as the tool's program names units (after their product)."""
    return wiring.public_urls(exposure_of(settings))


def browser_calls_elsewhere(settings: StackSettings) -> Iterator[tuple[Call, Any, str]]:
    """(call, endpoint, caller's origin) of every call a browser makes from this stack's product
    to one outside it: that one must allow the origin, which this stack cannot see to."""
    for call in WIRING:
        product = product_settings(settings.components, call.caller)
        endpoint = override_of(settings.components, call)
        if call.cors and product is not None and endpoint is not None:
            if found := browser_origin(exposure_of(settings), call.caller):
                yield call, endpoint, found


def own_callees_recognised(settings: StackSettings) -> StackSettings:
    """A browser call whose URL is this stack's own callee's public URL (a frontend's backend
    written out as the engine's API) is wired as the default: the engine then allows the
    frontend's origin, and no warning calls it outside the stack."""
    urls = public_urls(settings)
    for call in WIRING:
        endpoint = override_of(settings.components, call)
        if not call.cors or endpoint is None or endpoint.url is None or product_settings(settings.components, call.callee) is None:
            continue
        defaults = load_catalog()[call.callee]
        own = urls.get(defaults.unit_name(call.callee, call.unit))
        if own and endpoint.url.rstrip("/") in {own.rstrip("/"), f"{own}{defaults.api_path or ''}".rstrip("/")}:
            product, *path, last = call.setting.split(".")
            holder = product_settings(settings.components, product)
            for part in path:
                holder = getattr(holder, part)
            setattr(holder, last, None)
    return settings


def offered_to(settings: StackSettings) -> list[str]:
    """The namespaces whose pods may call the engine's in-cluster API; none on Docker, where
    it answers inside the stack's own network only."""
    return list(settings.kubernetes.admit_namespaces) if settings.platform == "kubernetes" and settings.kubernetes else []
