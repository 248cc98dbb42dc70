"""Acme's Pulumi program: Maestro's engine and frontend in Acme's existing namespace `acme-apps`,
on Acme's own cluster provider, beside Acme's billing service."""

import pulumi
import pulumi_kubernetes as k8s

from components.billing import billing
from maestro_components import EngineOptions, Exposure, FrontendOptions, KubernetesPlatform, deploy_products

NAMESPACE = "acme-apps"
DOMAIN = "apps.acme.example.com"


def main() -> None:
    provider = k8s.Provider("acme-cluster", context="acme-prod", namespace=NAMESPACE)
    exposure = Exposure(domain=DOMAIN, tls_secret="acme-wildcard-tls", ingress_namespace="ingress-nginx")
    # Acme's namespace exists already and holds other workloads: Maestro neither creates it
    # nor restricts what is not its own.
    platform = KubernetesPlatform(pulumi.get_stack(), NAMESPACE, provider, exposure, create_namespace=False)
    # Wired as the tool's stacks are: the frontend calls this engine, which allows its origin.
    maestro = deploy_products(
        platform,
        {"engine": EngineOptions(version="1.2.3", replicas=2), "frontend": FrontendOptions(version="1.1.0")},
        names={"engine": "maestro-engine", "frontend": "maestro-frontend"},
    )
    billing(NAMESPACE, provider)
    pulumi.export("engine_url", maestro["engine"].public_api_url)
    pulumi.export("frontend_url", maestro["frontend"].public_url)
