"""Hive: the autonomous SDLC engine, a client of the engine's API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.catalog import load_catalog
from components.products.common import unit_from_catalog
from components.unit import Platform
from maestro_deploy import settings

KEY = "hive"


@dataclass
class HiveArgs:
    platform: Platform
    settings: settings.Hive
    api_base: pulumi.Input[str]
    templates_path: str
    calls: list[pulumi.Input[str]]


class Hive(pulumi.ComponentResource):
    def __init__(self, name: str, args: HiveArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:hive:Hive", name, None, opts)
        worker = unit_from_catalog(
            KEY,
            "worker",
            load_catalog()[KEY],
            args.settings,
            env={"MAESTRO_API_BASE": args.api_base, "MAESTRO_TEMPLATES_PATH": args.templates_path},
            secret_env=(
                {"MAESTRO_API_TOKEN": pulumi.Output.secret(args.settings.api_token)} if args.settings.api_token else {}
            ),
            calls=args.calls + ([args.templates_path] if "://" in args.templates_path else []),
        )
        args.platform.deploy(worker, parent=self)
        self.url = args.platform.endpoints(worker).internal_url
        self.register_outputs({"url": self.url})
