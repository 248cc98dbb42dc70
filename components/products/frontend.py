"""The frontend: Maestro's React dashboard, on any backend that speaks the engine's API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.catalog import load_catalog
from components.products.common import unit_from_catalog
from components.unit import Platform
from maestro_deploy import settings

KEY = "frontend"


@dataclass
class FrontendArgs:
    platform: Platform
    settings: settings.Frontend
    api_base: pulumi.Input[str]  # what a browser calls: Maestro's engine or anyone's
    backend: pulumi.Input[str]  # what serves api_base: a unit of this stack, or the external URL itself


class Frontend(pulumi.ComponentResource):
    url: str  # in-platform URL, for quality-fabric
    public_url: Optional[str]

    def __init__(self, name: str, args: FrontendArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:frontend:Frontend", name, None, opts)
        web = unit_from_catalog(
            KEY,
            "web",
            load_catalog()[KEY],
            args.settings,
            env={"VITE_MAESTRO_API_BASE": args.api_base},
            # The browser calls the API, not the frontend's pods: no network rule, only a drawn edge.
            browser_calls=[args.backend],
        )
        args.platform.deploy(web, parent=self)
        endpoints = args.platform.endpoints(web)
        self.url, self.public_url = endpoints.internal_url, endpoints.public_url
        self.register_outputs({"url": self.url, "public_url": self.public_url})
