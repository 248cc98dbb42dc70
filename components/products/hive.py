"""Hive: the autonomous SDLC engine, a client of the engine's API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi

from maestro_components.catalog import load_catalog
from maestro_components.options import HiveOptions
from maestro_components.products.common import unit_from_catalog
from maestro_components.products.facts import HIVE as FACTS
from maestro_components.unit import Platform
from maestro_components.wiring import landing


@dataclass
class HiveArgs:
    platform: Platform
    api_base: pulumi.Input[str]  # the engine's API base
    calls: list[pulumi.Input[str]]  # what serves it: a unit on the platform, or the URL itself
    options: HiveOptions = field(default_factory=HiveOptions)


class Hive(pulumi.ComponentResource):
    url: Optional[str]

    def __init__(self, name: str, args: HiveArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:hive:Hive", name, None, opts)
        options = args.options
        # The engine's templates, unless hive is given its own.
        templates = options.templates_path or load_catalog()["engine"].templates_path
        worker = unit_from_catalog(
            FACTS,
            name,
            "worker",
            load_catalog()[FACTS.key],
            options,
            env={landing(FACTS.key, "api_base", "env"): args.api_base, "MAESTRO_TEMPLATES_PATH": templates},
            secret_env=({"MAESTRO_API_TOKEN": pulumi.Output.secret(options.api_token)} if options.api_token else {}),
            calls=args.calls + ([templates] if "://" in templates else []),
        )
        args.platform.deploy(worker, parent=self)
        self.url = args.platform.endpoints(worker).internal_url
        self.register_outputs({"url": self.url})
