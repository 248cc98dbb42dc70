"""The engine: Maestro's FastAPI orchestration backend, and its bundled PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

import pulumi
import pulumi_random

from maestro_components.catalog import load_catalog
from maestro_components.options import VERSION, DatabaseOptions, EngineOptions, merge_resources
from maestro_components.products.common import build_source, unit_from_catalog
from maestro_components.products.facts import ENGINE as FACTS
from maestro_components.unit import DataVolume, Dump, Platform, ServiceUnit

PASSWORD_FILE = "/run/secrets/postgres-password"


def without_credentials(url: str) -> str:
    """scheme://host:port of a URL: enough for a network rule and a diagram, nothing secret."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def database_version(image: str, catalog_version: str) -> str:
    """The PostgreSQL version a database image runs, as its version label says: the image's tag when
    that is a version (`maestro-postgres:15` runs 15), else the catalog's version."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    return tag if re.match(VERSION, tag) else catalog_version


@dataclass
class EngineArgs:
    platform: Platform
    options: EngineOptions = field(default_factory=EngineOptions)
    # Origins of the frontends wired to this engine (the stack's own): with the options'
    # `cors_origins`, MAESTRO_CORS_ORIGINS. A browser on any other origin may not call the API.
    frontend_origins: list[str] = field(default_factory=list)
    # Namespaces whose pods call `api_url` from outside this deployment (another stack's hive).
    admitted_from: list[str] = field(default_factory=list)


class Engine(pulumi.ComponentResource):
    """The engine's API, wired to a PostgreSQL of its own (or the one its options name)."""

    api_url: str  # in-platform API base, for hive and quality-fabric
    public_api_url: Optional[str]  # the API base a browser calls, when the platform exposes it

    def __init__(self, name: str, args: EngineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:engine:Engine", name, None, opts)
        defaults = load_catalog()[FACTS.key]
        options = args.options
        database_options = options.database
        if database_options is not None and database_options.url is not None:
            # An external PostgreSQL: its URL, a secret, reaches the engine only through a Secret.
            database = pulumi.Output.secret(database_options.url)
            database_calls = [without_credentials(database_options.url)]
        else:
            database, database_calls = self._database(name, args.platform, database_options)
        templates = options.templates_path or defaults.templates_path
        env = {"MAESTRO_TEMPLATES_PATH": templates}
        origins = list(dict.fromkeys(args.frontend_origins + options.cors_origins))
        if origins:
            env["MAESTRO_CORS_ORIGINS"] = ",".join(origins)
        api = unit_from_catalog(
            FACTS,
            name,
            "api",
            defaults,
            options,
            env=env,
            secret_env={"DATABASE_URL": database},
            # A templates repository by URL is fetched over the network.
            calls=database_calls + ([templates] if "://" in templates else []),
        )
        api.admitted_from = list(args.admitted_from)
        args.platform.deploy(api, parent=self)
        endpoints = args.platform.endpoints(api)
        self.api_url = endpoints.internal_url + defaults.api_path
        self.public_api_url = endpoints.public_url and endpoints.public_url + defaults.api_path
        self.register_outputs({"api_url": self.api_url, "public_api_url": self.public_api_url})

    def _database(
        self, name: str, platform: Platform, options: Optional[DatabaseOptions]
    ) -> tuple[pulumi.Output[str], list[str]]:
        """Deploy the bundled PostgreSQL; return the engine's connection URL, as a secret, and its unit."""
        defaults = load_catalog()[FACTS.key]
        db = defaults.database
        unit_name = defaults.database_unit_name(name)
        image = options.image if options and options.image else f"{db.image}:{db.version}"
        # Stored in the stack's state, so every `pulumi up` reuses the same password.
        password = pulumi_random.RandomPassword(
            f"{unit_name}-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        unit = ServiceUnit(
            product=FACTS.key,
            component="database",
            name=unit_name,
            distinct=name != FACTS.key,
            image=image,
            version=database_version(image, db.version),
            kind="service",
            resources=merge_resources(db.resources, None),
            port=db.port,
            health_command=["pg_isready", "-U", db.user, "-d", db.name],
            telemetry=False,  # PostgreSQL speaks no OpenTelemetry
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
            # Online and consistent (one snapshot), in the format pg_restore reads selectively.
            dump=Dump(
                command=f'PGPASSWORD="$(cat {PASSWORD_FILE})" pg_dump --format=custom --host="$SOURCE_HOST" '
                f'--port="$SOURCE_PORT" --username={db.user} --dbname={db.name} --file="$BACKUP_FILE"',
                extension="dump",
            ),
            build=build_source(options.build if options else None),
        )
        platform.deploy(unit, parent=self)
        host = platform.endpoints(unit).internal_url.split("://", 1)[1]
        url = pulumi.Output.secret(pulumi.Output.concat("postgresql://", db.user, ":", password.result, "@", host, "/", db.name))
        return url, [unit.name]
