"""The platform a stack's products run on, with the provider and the labels the stack names."""

from __future__ import annotations

import pulumi

from maestro_components.unit import Platform

from maestro_deploy.config.exposure import exposure_of
from maestro_deploy.config.settings import Docker, StackSettings


def ephemeral_labels(settings: StackSettings) -> dict[str, str]:
    """What `ephemeral list` and `reap` find a throwaway stack's resources by."""
    e = settings.ephemeral
    if e is None:
        return {}
    return {
        "maestro.dev/ephemeral": "true",
        "maestro.dev/owner": e.owner,
        "maestro.dev/created": str(e.created),
        "maestro.dev/expires": str(e.expires),
    }


def make_platform(stack: str, settings: StackSettings, labels: dict[str, pulumi.Input[str]]) -> Platform:
    if settings.platform == "docker":
        return make_docker_platform(stack, settings, labels)
    return make_kubernetes_platform(stack, settings, labels)


def make_docker_platform(stack: str, settings: StackSettings, labels: dict[str, pulumi.Input[str]]) -> Platform:
    import pulumi_docker

    from maestro_components.docker.platform import DockerPlatform

    d = settings.docker or Docker()
    # An explicit provider: the daemon is the one the stack names, else DOCKER_HOST or the local one.
    provider = pulumi_docker.Provider("docker", host=d.host)
    return DockerPlatform(
        stack,
        provider,
        exposure_of(settings),
        # A throwaway stack protects nothing, so that its teardown is complete, and keeps its data
        # in memory: it dies with the stack anyway, and a database starts sooner there.
        protect_data=settings.ephemeral is None,
        data_in_memory=settings.ephemeral is not None,
        labels=labels,
        observability=settings.observability,
    )


def make_kubernetes_platform(stack: str, settings: StackSettings, labels: dict[str, pulumi.Input[str]]) -> Platform:
    from pulumi_kubernetes.provider import Provider

    from maestro_components.kubernetes.platform import KubernetesPlatform

    k = settings.kubernetes
    # An explicit provider: nothing lands on whatever cluster the ambient kubeconfig names.
    provider = Provider("kubernetes", context=k.context, namespace=k.namespace)
    tls = k.tls
    platform = KubernetesPlatform(
        stack,
        k.namespace,
        provider,
        exposure_of(settings),
        protect_data=settings.ephemeral is None,
        labels=labels,
        create_namespace=k.create_namespace,
        observability=settings.observability,
    )
    if tls and tls.certificate:
        platform.tls_from(tls.certificate, tls.key)
    return platform

