"""One service unit on Docker: its image, its named volumes and its container."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_docker as docker

from maestro_components.quantity import quantity
from maestro_components.unit import ServiceUnit

# The same unprivileged identity as on Kubernetes.
RUN_AS = "10001:10001"
# Docker first probes one interval after start: a short interval keeps a warm `up` quick, and
# each probe starts a process in the container, so it is not shorter still.
HEALTH = {"interval": "5s", "timeout": "3s", "retries": 3, "start_period": "60s"}


def memory_mb(text: str) -> int:
    """A Kubernetes memory quantity in the megabytes the Docker provider takes (validation has
    refused a limit below Docker's minimum)."""
    return round(quantity(text) / 2**20)


def cpus(text: str) -> str:
    """A Kubernetes CPU quantity (250m, 1) as Docker's decimal CPUs (0.25, 1)."""
    return f"{quantity(text):g}"


def health_test(unit: ServiceUnit) -> Optional[list[str]]:
    if unit.health_command:
        return ["CMD", *unit.health_command]
    if unit.health_path and unit.port:
        url = f"http://127.0.0.1:{unit.port}{unit.health_path}"
        # Docker probes from inside the container, with what the image has: Python, else busybox.
        probe = f"python3 -c \"import urllib.request as u; u.urlopen('{url}', timeout=3)\" || wget -q -O /dev/null {url}"
        return ["CMD-SHELL", probe]
    return None


@dataclass
class DockerServiceUnitArgs:
    unit: ServiceUnit
    stack: str
    container_name: str
    network: pulumi.Input[str]
    aliases: list[str]  # names it answers to on the stack's network
    bind_address: str
    publish: bool  # publish its port on the host, on the same port number
    after: list[pulumi.Resource] = field(default_factory=list)  # containers that must be healthy first
    labels: dict[str, pulumi.Input[str]] = field(default_factory=dict)  # the stack's, on every resource
    protect_data: bool = True  # False only in throwaway stacks, whose teardown must be complete
    # Data volumes in memory (tmpfs): for a throwaway stack, whose data dies with it anyway and
    # whose database initialises its data directory several times faster there than on disk.
    # Such a volume lives while a container mounts it: only for units that run to the end.
    data_in_memory: bool = False
    host_network: bool = False  # in the host's network namespace instead (a task testing loopback URLs)


class DockerServiceUnit(pulumi.ComponentResource):
    container: docker.Container

    def __init__(self, name: str, args: DockerServiceUnitArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:docker:ServiceUnit", name, None, opts)
        unit = args.unit
        labels = {
            **args.labels,
            "maestro.stack": args.stack,
            "maestro.product": unit.product,
            "maestro.component": unit.component,
            "maestro.version": unit.version,
        }
        # Pulumi marks a list secret as a whole: the names (never the values) of the
        # secret variables tell the Compose export which go to the private env file.
        container_labels = {**labels, **({"maestro.secret-env": ",".join(sorted(unit.secret_env))} if unit.secret_env else {})}
        image = self._image(unit)
        volumes = [
            docker.ContainerVolumeArgs(
                volume_name=v.existing or self._volume(f"{name}-data-{i}", args, labels).name, container_path=v.path
            )
            for i, v in enumerate(unit.data)
        ]
        if unit.reports:
            # Reports outlive the task's container, to be collected after it ends; never protected.
            volumes.append(
                docker.ContainerVolumeArgs(
                    volume_name=self._volume(f"{name}-reports", args, labels, keep=False).name,
                    container_path=unit.reports,
                )
            )
        limits = unit.resources.get("limits", {})
        self.container = docker.Container(
            name,
            name=args.container_name,
            image=image,
            # Values may be Outputs (a URL read from another stack): concatenated, never formatted.
            envs=[pulumi.Output.concat(k, "=", v) for k, v in sorted(unit.env.items())]
            + [pulumi.Output.secret(pulumi.Output.concat(k, "=", v)) for k, v in sorted(unit.secret_env.items())],
            entrypoints=unit.command,
            command=unit.args,
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in container_labels.items()],
            network_mode="host" if args.host_network else None,
            networks_advanced=(
                None if args.host_network else [docker.ContainerNetworksAdvancedArgs(name=args.network, aliases=args.aliases)]
            ),
            ports=(
                [docker.ContainerPortArgs(internal=unit.port, external=unit.port, ip=args.bind_address)]
                if args.publish
                else None
            ),
            healthcheck=(docker.ContainerHealthcheckArgs(tests=test, **HEALTH) if (test := health_test(unit)) else None),
            uploads=self._uploads(unit),
            volumes=volumes or None,
            tmpfs={path: "rw,noexec,nosuid,size=64m" for path in unit.writable} or None,
            # Docker refuses to copy files into a read-only root filesystem (moby/moby#35987),
            # even before the container starts: a unit with files keeps a writable root.
            read_only=not (unit.files or unit.secret_files),
            user=RUN_AS,
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            security_opts=["no-new-privileges:true"],
            memory=memory_mb(limits["memory"]) if "memory" in limits else None,
            cpus=cpus(limits["cpu"]) if "cpu" in limits else None,
            # A service restarts until stopped, and `pulumi up` waits until it is healthy;
            # a task runs once, and `pulumi up` waits until it ends.
            restart="unless-stopped" if unit.kind == "service" else "no",
            # An init as PID 1 forwards `docker stop`'s signal: a process that is PID 1 itself
            # ignores SIGTERM unless it handles it, and stop then waits 10 s to kill it.
            init=True,
            must_run=unit.kind == "service",
            wait=unit.kind == "service" and test is not None,
            wait_timeout=120,
            attach=unit.kind == "task",
            logs=unit.kind == "task",
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        self.register_outputs({"container": self.container.name})

    def _image(self, unit: ServiceUnit) -> pulumi.Output[str]:
        if unit.build is not None:
            built = docker.Image(
                f"{unit.name}-image",
                image_name=unit.image,
                build=docker.DockerBuildArgs(
                    context=unit.build.context, dockerfile=unit.build.dockerfile, args=unit.build.args or None
                ),
                skip_push=True,  # a local engine runs what it built: no registry involved
                opts=pulumi.ResourceOptions(parent=self),
            )
            return built.image_name
        pulled = docker.RemoteImage(
            f"{unit.name}-image", name=unit.image, keep_locally=True, opts=pulumi.ResourceOptions(parent=self)
        )
        return pulled.name

    def _volume(self, name: str, args: DockerServiceUnitArgs, labels: dict[str, str], keep: bool = True) -> docker.Volume:
        in_memory = keep and args.data_in_memory
        keep = keep and args.protect_data
        return docker.Volume(
            name,
            name=f"{args.container_name}-{name.removeprefix(args.unit.name + '-')}",
            labels=[docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
            driver_opts={"type": "tmpfs", "device": "tmpfs"} if in_memory else None,
            # Data must survive `pulumi destroy` and a rename, except in throwaway stacks.
            opts=pulumi.ResourceOptions(parent=self, protect=keep, retain_on_delete=keep),
        )

    @staticmethod
    def _uploads(unit: ServiceUnit) -> Optional[list[docker.ContainerUploadArgs]]:
        uploads: list[Any] = [
            docker.ContainerUploadArgs(file=path, content=content, permissions="0444")
            for path, content in sorted(unit.files.items())
        ]
        # Readable by the unit's group only, as the Secret volume's mode on Kubernetes.
        uploads += [
            docker.ContainerUploadArgs(file=path, content=content, owner="0", group="10001", permissions="0440")
            for path, content in sorted(unit.secret_files.items())
        ]
        return uploads or None
