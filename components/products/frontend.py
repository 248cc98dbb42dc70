"""The frontend: Maestro's React dashboard, on any backend that speaks the engine's API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi

from maestro_components.catalog import load_catalog
from maestro_components.options import FrontendOptions
from maestro_components.products.common import unit_from_catalog
from maestro_components.products.facts import FRONTEND as FACTS
from maestro_components.unit import Platform
from maestro_components.wiring import landing


@dataclass
class FrontendArgs:
    platform: Platform
    api_base: pulumi.Input[str]  # what a browser calls: Maestro's engine or anyone's
    backend: pulumi.Input[str]  # what serves api_base: a unit on the platform, or the external URL itself
    options: FrontendOptions = field(default_factory=FrontendOptions)


class Frontend(pulumi.ComponentResource):
    url: str  # in-platform URL, for quality-fabric
    public_url: Optional[str]
    api_base: pulumi.Input[str]

    def __init__(self, name: str, args: FrontendArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:frontend:Frontend", name, None, opts)
        if args.api_base is None or args.backend is None:
            # Its pages would call nothing: the variable would be deployed without a value.
            raise ValueError("frontend: give api_base (the API its browsers call: an engine's public_api_url, or any backend's URL) and backend")
        _check_backend(args)
        web = unit_from_catalog(
            FACTS,
            name,
            "web",
            load_catalog()[FACTS.key],
            args.options,
            env={landing(FACTS.key, "api_base", "env"): args.api_base},
            # The browser calls the API, not the frontend's pods: no network rule, only a drawn edge.
            browser_calls=[args.backend],
        )
        args.platform.deploy(web, parent=self)
        endpoints = args.platform.endpoints(web)
        self.url, self.public_url = endpoints.internal_url, endpoints.public_url
        self.api_base = args.api_base  # what its pages call: a test of the frontend calls it too
        self.register_outputs({"url": self.url, "public_url": self.public_url, "api_base": self.api_base})


def _check_backend(args: FrontendArgs) -> None:
    """A backend named as a unit must be one the platform runs that serves an API (by the
    catalog: a product with an `api_path`): a typo would otherwise draw a call to nothing."""
    backend = args.backend
    if not isinstance(backend, str) or "://" in backend:
        return  # a URL, or another stack's output: where it points is not ours to see
    catalog = load_catalog()
    apis = [u.name for u in args.platform.units if catalog[u.product].api_path and u.component in catalog[u.product].units]
    if backend not in apis:
        expected = f"one of: {', '.join(apis)}" if apis else "none runs on this platform yet"
        raise ValueError(f"frontend: backend {backend!r} is no API unit on this platform ({expected}); or give the API's URL")
