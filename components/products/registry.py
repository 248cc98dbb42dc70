"""The registry: a PyPI-compatible index (pypiserver) for the shared maestro-core-* packages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.catalog import load_catalog
from components.products.common import unit_from_catalog
from components.unit import Platform
from maestro_deploy import settings

KEY = "registry"


@dataclass
class RegistryArgs:
    platform: Platform
    settings: settings.Registry


class Registry(pulumi.ComponentResource):
    def __init__(self, name: str, args: RegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:registry:Registry", name, None, opts)
        defaults = load_catalog()[KEY]
        packages = next(iter(defaults.units["pypi"].data))
        unit = unit_from_catalog(
            KEY,
            "pypi",
            defaults,
            args.settings,
            storage=args.settings.storage,
            args=["run", "-p", str(defaults.units["pypi"].port), packages],
        )
        args.platform.deploy(unit, parent=self)
        endpoints = args.platform.endpoints(unit)
        self.url, self.public_url = endpoints.internal_url, endpoints.public_url
        self.register_outputs({"url": self.url, "public_url": self.public_url})
