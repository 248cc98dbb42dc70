"""Acme's Pulumi program: Maestro's engine and frontend in Acme's existing namespace `acme-apps`,
on Acme's own cluster provider, beside Acme's billing service."""

import pulumi
import pulumi_kubernetes as k8s

from components.billing import billing
from maestro_components import Engine, EngineArgs, EngineOptions, Exposure, Frontend, FrontendArgs, FrontendOptions, KubernetesPlatform

NAMESPACE = "acme-apps"
DOMAIN = "apps.acme.example.com"


def main() -> None:
    provider = k8s.Provider("acme-cluster", context="acme-prod", namespace=NAMESPACE)
    exposure = Exposure(domain=DOMAIN, tls_secret="acme-wildcard-tls", ingress_namespace="ingress-nginx")
    # Acme's namespace exists already and holds other workloads: Maestro neither creates it
    # nor restricts what is not its own.
    platform = KubernetesPlatform(pulumi.get_stack(), NAMESPACE, provider, exposure, create_namespace=False)
    engine = Engine(
        "maestro-engine",
        EngineArgs(
            platform=platform,
            options=EngineOptions(version="1.2.3", replicas=2),
            # The frontend below is served from here: browsers on it call the engine's API.
            frontend_origins=[f"https://app.{DOMAIN}"],
        ),
    )
    frontend = Frontend(
        "maestro-frontend",
        FrontendArgs(platform=platform, api_base=engine.public_api_url, backend="maestro-engine", options=FrontendOptions(version="1.1.0")),
    )
    billing(NAMESPACE, provider)
    pulumi.export("engine_url", engine.public_api_url)
    pulumi.export("frontend_url", frontend.public_url)
