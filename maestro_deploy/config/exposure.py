"""Where a stack's public units answer, from its settings alone: the platform's exposure.

The program hands it to the platform; `check` uses it to name, before anything runs, the
origin a browser loads this stack's frontend from (which the engine must allow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Union
from urllib.parse import urlsplit

from maestro_components.catalog import load_catalog

from maestro_deploy.config.settings import Docker, StackSettings


if TYPE_CHECKING:
    from maestro_components.docker.platform import DockerExposure
    from maestro_components.kubernetes.service_unit import Exposure


def exposure_of(settings: StackSettings) -> Union["DockerExposure", "Exposure"]:
    # Imported here: a platform's module pulls in its Pulumi provider, which `check` never needs.
    if settings.platform == "docker":
        from maestro_components.docker.platform import DockerExposure

        d = settings.docker or Docker()
        return DockerExposure(domain=d.domain, bind_address=d.bind_address, publish=d.publish)
    from maestro_components.kubernetes.service_unit import Exposure

    k = settings.kubernetes
    tls = k.tls if k else None
    return Exposure(
        domain=k.domain if k else None,
        ingress_class=k.ingress_class if k else None,
        tls_secret=tls.secret_name if tls else None,
        cluster_issuer=tls.cluster_issuer if tls else None,
        ingress_namespace=k.ingress_namespace if k else None,
    )


def origin(url: str) -> str:
    """A URL's origin as a browser sends it: scheme://host, with the port unless the default."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def public_urls(settings: StackSettings) -> dict[str, str]:
    """Unit name -> where browsers reach it on this stack's platform, for every unit with a public
    host, as the tool's program names units (after their product)."""
    exposure = exposure_of(settings)
    found = {
        defaults.unit_name(key, component): exposure.public_url(unit.public_host, unit.port)
        for key, defaults in load_catalog().items()
        for component, unit in defaults.units.items()
        if unit.public_host
    }
    return {name: url for name, url in found.items() if url}


def frontend_origin(settings: StackSettings) -> Optional[str]:
    """The origin a browser loads this stack's frontend from, when it has one."""
    if settings.components.frontend is None:
        return None
    url = public_urls(settings).get("frontend")
    return origin(url) if url else None
