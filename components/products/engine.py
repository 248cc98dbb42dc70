"""The engine: Maestro's FastAPI orchestration backend, and its bundled PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

import pulumi
import pulumi_random

from components.catalog import load_catalog
from components.products.common import build_source, merge_resources, unit_from_catalog
from components.unit import DataVolume, Platform, ServiceUnit
from maestro_deploy import settings

KEY = "engine"


def without_credentials(url: str) -> str:
    """scheme://host:port of a URL: enough for a network rule and a diagram, nothing secret."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
PASSWORD_FILE = "/run/secrets/postgres-password"


@dataclass
class EngineArgs:
    platform: Platform
    settings: settings.Engine
    # Origins of the frontends wired to this engine (the stack's own): with the settings'
    # `cors_origins`, MAESTRO_CORS_ORIGINS. A browser on any other origin may not call the API.
    frontend_origins: list[str] = field(default_factory=list)


class Engine(pulumi.ComponentResource):
    """The engine's API, wired to a PostgreSQL of its own."""

    api_url: str  # in-platform API base, for hive and quality-fabric
    public_api_url: Optional[str]  # the API base a browser calls, when the platform exposes it

    def __init__(self, name: str, args: EngineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:engine:Engine", name, None, opts)
        defaults = load_catalog()[KEY]
        options = args.settings.database
        if options is not None and options.url is not None:
            # An external PostgreSQL: its URL, a secret, reaches the engine only through a Secret.
            database = pulumi.Output.secret(options.url)
            database_calls = [without_credentials(options.url)]
        else:
            database = self._database(args.platform, options)
            database_calls = [f"{KEY}-db"]
        templates = args.settings.templates_path or defaults.templates_path
        env = {"MAESTRO_TEMPLATES_PATH": templates}
        origins = list(dict.fromkeys(args.frontend_origins + args.settings.cors_origins))
        if origins:
            env["MAESTRO_CORS_ORIGINS"] = ",".join(origins)
        api = unit_from_catalog(
            KEY,
            "api",
            defaults,
            args.settings,
            env=env,
            secret_env={"DATABASE_URL": database},
            # A templates repository by URL is fetched over the network.
            calls=database_calls + ([templates] if "://" in templates else []),
        )
        args.platform.deploy(api, parent=self)
        endpoints = args.platform.endpoints(api)
        self.api_url = endpoints.internal_url + defaults.api_path
        self.public_api_url = endpoints.public_url and endpoints.public_url + defaults.api_path
        self.register_outputs({"api_url": self.api_url, "public_api_url": self.public_api_url})

    def _database(self, platform: Platform, options: Optional[settings.Database]) -> pulumi.Output[str]:
        """Deploy the bundled PostgreSQL; return the engine's connection URL, as a secret."""
        db = load_catalog()[KEY].database
        # Stored in the stack's state, so every `pulumi up` reuses the same password.
        password = pulumi_random.RandomPassword(
            f"{KEY}-db-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        unit = ServiceUnit(
            product=KEY,
            component="database",
            name=f"{KEY}-db",
            image=(options.image if options and options.image else f"{db.image}:{db.version}"),
            version=db.version,
            kind="service",
            resources=merge_resources(db.resources, None),
            port=db.port,
            health_command=["pg_isready", "-U", db.user, "-d", db.name],
            env={
                "POSTGRES_USER": db.user,
                "POSTGRES_DB": db.name,
                "PGDATA": "/var/lib/postgresql/data/pgdata",
                "POSTGRES_PASSWORD_FILE": PASSWORD_FILE,
            },
            # PostgreSQL reads its password from a file: a secret in a file stays out of `env` dumps.
            secret_files={PASSWORD_FILE: password.result},
            writable=["/var/run/postgresql", "/tmp"],
            data=[DataVolume(path="/var/lib/postgresql/data", size=db.size)],
            build=build_source(options.build if options else None),
        )
        platform.deploy(unit, parent=self)
        host = platform.endpoints(unit).internal_url.split("://", 1)[1]
        return pulumi.Output.secret(
            pulumi.Output.concat("postgresql://", db.user, ":", password.result, "@", host, "/", db.name)
        )
