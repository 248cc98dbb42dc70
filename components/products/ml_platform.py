"""The ML platform: ML operations with its own artifact storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.catalog import load_catalog
from components.products.common import unit_from_catalog
from components.unit import Platform
from maestro_deploy import settings

KEY = "ml-platform"
# The product was called synth: stacks deployed then registered this component as
# maestro:synth:Synth. The alias lets them adopt it, and every child (its volume with it)
# follows its parent, instead of being replaced.
FORMER_TYPE = "maestro:synth:Synth"


@dataclass
class MlPlatformArgs:
    platform: Platform
    settings: settings.MlPlatform


class MlPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: MlPlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=FORMER_TYPE)]))
        super().__init__("maestro:ml-platform:MlPlatform", name, None, opts)
        api = unit_from_catalog(KEY, "api", load_catalog()[KEY], args.settings, storage=args.settings.storage)
        args.platform.deploy(api, parent=self)
        self.url = args.platform.endpoints(api).internal_url
        self.register_outputs({"url": self.url})
