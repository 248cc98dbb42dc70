"""The registry: a PyPI-compatible index (pypiserver) for the shared maestro-core-* packages."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

import pulumi
import pulumi_random

from maestro_components.catalog import load_catalog
from maestro_components.options import RegistryOptions
from maestro_components.products.common import unit_from_catalog
from maestro_components.products.facts import REGISTRY as FACTS
from maestro_components.unit import Platform

HTPASSWD = "/etc/pypiserver/htpasswd"
# pypiserver serves no metrics: the unit runs it through this file, which serves them beside it.
EXPORTER = "/opt/maestro/registry_exporter.py"


def exporter_source() -> str:
    return resources.files("maestro_components.products").joinpath("registry_exporter.py").read_text(encoding="utf-8")


def htpasswd_line(user: str, password: str) -> str:
    """An Apache htpasswd entry in the {SHA} scheme, which pypiserver's passlib reads."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{user}:{{SHA}}{digest}\n"


@dataclass
class RegistryArgs:
    platform: Platform
    options: RegistryOptions = field(default_factory=RegistryOptions)


class Registry(pulumi.ComponentResource):
    url: Optional[str]
    public_url: Optional[str]
    username: str
    password: pulumi.Output[str]  # a secret

    def __init__(self, name: str, args: RegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:registry:Registry", name, None, opts)
        defaults = load_catalog()[FACTS.key]
        packages = next(iter(defaults.units["pypi"].data))
        unit = unit_from_catalog(
            FACTS,
            name,
            "pypi",
            defaults,
            args.options,
            storage=args.options.storage,
            # Anyone in the stack may install; uploading takes the credentials.
            # No fallback to pypi.org: a name missing here must not resolve to a public package.
            args=["run", "-p", str(defaults.units["pypi"].port), "-P", HTPASSWD, "-a", "update", "--disable-fallback", packages],
        )
        self.username = args.options.username
        self.password = self._password(name, args.options)
        unit.max_request_body = args.options.max_upload_size
        unit.command = ["python3", EXPORTER]  # then pypiserver's own arguments, above
        unit.files[EXPORTER] = exporter_source()
        unit.secret_files[HTPASSWD] = pulumi.Output.secret(
            self.password.apply(lambda p: htpasswd_line(self.username, p))
        )
        args.platform.deploy(unit, parent=self)
        endpoints = args.platform.endpoints(unit)
        self.url, self.public_url = endpoints.internal_url, endpoints.public_url
        self.register_outputs(
            {"url": self.url, "public_url": self.public_url, "username": self.username, "password": self.password}
        )

    def _password(self, name: str, options: RegistryOptions) -> pulumi.Output[str]:
        """The uploaders' password, a secret: the one given, or one generated for the stack."""
        if options.password is not None:
            return pulumi.Output.secret(options.password)
        # Stored in the stack's state: every `pulumi up` keeps the same login.
        generated = pulumi_random.RandomPassword(
            f"{name}-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        return pulumi.Output.secret(generated.result)
