"""Quality-fabric: testing as a service. It tests any target through its URLs
and depends on no Maestro code; its target arrives as a test config file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import yaml

from maestro_components.catalog import load_catalog
from maestro_components.options import QualityFabricOptions
from maestro_components.products.common import unit_from_catalog
from maestro_components.products.facts import QUALITY_FABRIC as FACTS
from maestro_components.unit import Platform
from maestro_components.wiring import landing


@dataclass
class QualityFabricArgs:
    platform: Platform
    api_base: pulumi.Input[str]
    frontend_url: Optional[pulumi.Input[str]]
    calls: list[pulumi.Input[str]]  # the targets: units on the platform or URLs, for network rules
    options: QualityFabricOptions = field(default_factory=QualityFabricOptions)
    test_config_name: Optional[str] = None  # omitted: the options' name, else "<component name> tests"
    api_token: Optional[pulumi.Input[str]] = None  # sent to the target's API; a secret


def test_config(name: str, api_base: str, frontend_url: Optional[str], suites: list[str]) -> str:
    """The test config in quality-fabric's own format (see the platform strategy): the target's
    URLs in the fields the wiring table says they land in (`target.api_base` ...)."""
    config: dict[str, Any] = {"name": name}
    for arg, url in {"api_base": api_base, "frontend_url": frontend_url}.items():
        section, field_name = landing(FACTS.key, arg, "test config").split(".")
        if url is not None:
            config.setdefault(section, {})[field_name] = url
    config["test_suites"] = suites
    return yaml.safe_dump(config, sort_keys=False)


class QualityFabric(pulumi.ComponentResource):
    def __init__(self, name: str, args: QualityFabricArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:quality-fabric:QualityFabric", name, None, opts)
        defaults = load_catalog()[FACTS.key]
        options = args.options
        suites = list(options.test_suites or defaults.test_suites)
        title = options.name or args.test_config_name or f"{name} tests"
        config = pulumi.Output.all(args.api_base, args.frontend_url).apply(
            lambda urls: test_config(title, urls[0], urls[1], suites)
        )
        files = {defaults.test_config_path: config}
        env = {"QF_TEST_CONFIG": defaults.test_config_path}

        def unit(component: str, **wiring):
            return unit_from_catalog(FACTS, name, component, defaults, options, **wiring)

        api = unit("api", env=env, files=files)
        api_url = args.platform.endpoints(api).internal_url
        ui = unit("ui", env={"QF_API_URL": api_url}, calls=[api.name])
        runner = unit(
            "runner",
            env={**env, "QF_RESULTS_DIR": defaults.units["runner"].reports},
            # The token stays out of the test config file: files are not secret.
            secret_env={"QF_TARGET_API_TOKEN": pulumi.Output.secret(args.api_token)} if args.api_token else None,
            files=files,
            calls=args.calls,
        )
        for each in (api, ui, runner):
            args.platform.deploy(each, parent=self)
        self.api_url = api_url
        self.public_url = args.platform.endpoints(ui).public_url
        self.test_config = config
        self.register_outputs({"api_url": self.api_url, "public_url": self.public_url, "test_config": config})
