"""The ML platform: ML operations with its own artifact storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi

from maestro_components.catalog import load_catalog
from maestro_components.options import MlPlatformOptions
from maestro_components.products.common import unit_from_catalog
from maestro_components.products.facts import ML_PLATFORM as FACTS
from maestro_components.unit import Platform

# The product was called synth: stacks deployed then registered this component as
# maestro:synth:Synth. The alias lets them adopt it, and every child (its volume with it)
# follows its parent, instead of being replaced.
FORMER_TYPE = "maestro:synth:Synth"


@dataclass
class MlPlatformArgs:
    platform: Platform
    options: MlPlatformOptions = field(default_factory=MlPlatformOptions)


class MlPlatform(pulumi.ComponentResource):
    url: Optional[str]

    def __init__(self, name: str, args: MlPlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=FORMER_TYPE)]))
        super().__init__("maestro:ml-platform:MlPlatform", name, None, opts)
        options = args.options
        api = unit_from_catalog(FACTS, name, "api", load_catalog()[FACTS.key], options, storage=options.storage)
        args.platform.deploy(api, parent=self)
        self.url = args.platform.endpoints(api).internal_url
        self.register_outputs({"url": self.url})
