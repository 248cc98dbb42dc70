"""Quality-fabric: testing as a service. It tests any target through its URLs
and depends on no Maestro code; its target arrives as a test config file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import yaml

from components.catalog import load_catalog
from components.products.common import unit_from_catalog
from components.unit import Platform
from maestro_deploy import settings

KEY = "quality-fabric"


@dataclass
class QualityFabricArgs:
    platform: Platform
    settings: settings.QualityFabric
    name: str  # the test config's name
    api_base: pulumi.Input[str]
    frontend_url: Optional[pulumi.Input[str]]
    calls: list[pulumi.Input[str]]  # the targets: in-stack units or URLs, for network rules


def test_config(name: str, api_base: str, frontend_url: Optional[str], suites: list[str]) -> str:
    """The test config in quality-fabric's own format (see the platform strategy)."""
    target = {"api_base": api_base}
    if frontend_url is not None:
        target["frontend_url"] = frontend_url
    return yaml.safe_dump({"name": name, "target": target, "test_suites": suites}, sort_keys=False)


class QualityFabric(pulumi.ComponentResource):
    def __init__(self, name: str, args: QualityFabricArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:quality-fabric:QualityFabric", name, None, opts)
        defaults = load_catalog()[KEY]
        suites = list(args.settings.test_suites or defaults.test_suites)
        config = pulumi.Output.all(args.api_base, args.frontend_url).apply(
            lambda urls: test_config(args.name, urls[0], urls[1], suites)
        )
        files = {defaults.test_config_path: config}
        env = {"QF_TEST_CONFIG": defaults.test_config_path}

        def unit(component: str, **wiring):
            return unit_from_catalog(KEY, component, defaults, args.settings, **wiring)

        api = unit("api", env=env, files=files)
        api_url = args.platform.endpoints(api).internal_url
        ui = unit("ui", env={"QF_API_URL": api_url}, calls=[api.name])
        token = args.settings.target.api_token if args.settings.target else None
        runner = unit(
            "runner",
            env={**env, "QF_RESULTS_DIR": defaults.units["runner"].reports},
            # The token stays out of the test config file: files are not secret.
            secret_env={"QF_TARGET_API_TOKEN": pulumi.Output.secret(token)} if token else None,
            files=files,
            calls=args.calls,
        )
        for each in (api, ui, runner):
            args.platform.deploy(each, parent=self)
        self.api_url = api_url
        self.public_url = args.platform.endpoints(ui).public_url
        self.test_config = config
        self.register_outputs({"api_url": self.api_url, "public_url": self.public_url, "test_config": config})
