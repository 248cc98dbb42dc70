"""Acme's billing service: a workload of the customer's own, in the same namespace."""

import pulumi
import pulumi_kubernetes as k8s

LABELS = {"app.kubernetes.io/name": "billing", "app.kubernetes.io/part-of": "acme"}


def billing(namespace: str, provider: k8s.Provider) -> k8s.apps.v1.Deployment:
    return k8s.apps.v1.Deployment(
        "billing",
        metadata={"name": "billing", "namespace": namespace, "labels": LABELS},
        spec={
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {"containers": [{"name": "billing", "image": "registry.acme.example.com/billing:4.2.0"}]},
            },
        },
        opts=pulumi.ResourceOptions(provider=provider),
    )
