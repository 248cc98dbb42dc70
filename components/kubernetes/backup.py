"""Scheduled backups on Kubernetes: a CronJob per unit with data, writing to a backup claim.

A unit that says how to dump its data (the database: `pg_dump`) is copied by that command, run
in its own image, over the network; any other unit's volumes are archived (tar), read-only, by a
pod that joins the unit's pod on its node, since a ReadWriteOnce volume is mounted on one node at
a time. Each run writes under a temporary name, renames when complete, then deletes all but the
newest `keep` copies. Its pods may reach their source only (a dump: the unit's port, and DNS to
find it; an archive: nothing), and run with the same least privilege as every other pod.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional

import pulumi
from pulumi_kubernetes.batch.v1 import CronJob
from pulumi_kubernetes.core.v1 import PersistentVolumeClaim, ServiceAccount

from maestro_components.kubernetes.network import NetworkRules
from maestro_components.kubernetes.pod import pod_template, volume_name
from maestro_components.kubernetes.service_unit import pod_labels, policy_exceptions, recommended_labels, selector_labels
from maestro_components.options import BackupOptions
from maestro_components.quantity import quantity
from maestro_components.unit import DataVolume, ServiceUnit

# What archives a volume: tar, gzip and a POSIX shell, and nothing else.
ARCHIVE_IMAGE = "busybox:1.36.1"
RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
MOUNT = "/backup"
SOURCE = "/source"
# A run missed by up to an hour (the control plane was down) still starts; one that is still
# going after two hours (a hung connection, a volume that never attaches) is stopped, and fails.
STARTING_DEADLINE_SECONDS = 3600
ACTIVE_DEADLINE_SECONDS = 7200
HISTORY = 3  # finished Jobs kept of each outcome, for `kubectl logs` of the last runs
STAMP = r"[0-9]{8}T[0-9]{6}Z"  # date -u +%Y%m%dT%H%M%SZ


@dataclass
class BackupSource:
    """A deployed unit with data, and what its backup reads."""

    unit: ServiceUnit
    selector: dict[str, str]  # its pods
    claims: list[pulumi.Input[str]]  # its volumes', in the order of unit.data
    secret_files: Optional[pulumi.Input[str]]  # the Secret its secret files come from
    host: str  # where it answers in the cluster


@dataclass
class BackupsArgs:
    options: BackupOptions
    sources: list[BackupSource]
    namespace: pulumi.Input[str]
    stack: str
    network: NetworkRules
    protect_data: bool = True  # False only in throwaway stacks


def copies(unit: ServiceUnit) -> list[tuple[str, str, str]]:
    """(file prefix, extension, command writing "$BACKUP_FILE") for each copy a run takes: the
    unit's dump, or an archive of each of its volumes, named after the claim it restores into."""
    if unit.dump:
        return [(unit.name, unit.dump.extension, unit.dump.command)]
    return [
        # Into the file the shell opened: with `-f FILE`, tar's compressor child creates FILE by
        # name, and after a failed run's trap has removed it, it could create it again.
        (f"{unit.name}-data-{i}", "tar.gz", f'tar -C {SOURCE}/{i} -czf - . > "$BACKUP_FILE"')
        for i in range(len(unit.data))
    ]


def backup_script(unit: ServiceUnit, keep: int) -> str:
    lines = [
        "set -eu",
        f"dir={MOUNT}/{unit.name}",
        'mkdir -p "$dir"',
        'stamp="$(date -u +%Y%m%dT%H%M%SZ)"',
        'export BACKUP_FILE="$dir/.partial"',
        # A run that fails leaves nothing half-written behind.
        """trap 'rm -f "$BACKUP_FILE"' EXIT""",
    ]
    for prefix, extension, command in copies(unit):
        final = f'"$dir/{prefix}-$stamp.{extension}"'
        # An ERE: unit names are DNS labels, in which only the extension's dots need escaping.
        pattern = f"^{prefix}-{STAMP}\\." + extension.replace(".", "\\.") + "$"
        lines += [
            f"( {command} )",
            f"mv \"$BACKUP_FILE\" {final}",
            f"echo {final}: $(wc -c < {final}) bytes",
            f"ls -1 \"$dir\" | grep -E '{pattern}' | sort -r | tail -n +{keep + 1} | while read -r old; do rm -f \"$dir/$old\"; done",
        ]
    return "\n".join(lines)


def backup_unit(source: BackupSource, options: BackupOptions) -> ServiceUnit:
    """The unit's backup as a task of its own: its image (a dump) or the archiver's, its source
    volumes and the backup claim, and a call to the unit only where it dumps over the network."""
    unit = source.unit
    image, version = (unit.image, unit.version) if unit.dump else (ARCHIVE_IMAGE, ARCHIVE_IMAGE.rsplit(":", 1)[1])
    sources = [] if unit.dump else [replace(volume, path=f"{SOURCE}/{i}") for i, volume in enumerate(unit.data)]
    return ServiceUnit(
        product=unit.product,
        component=f"{unit.component}-backup",
        name=f"{unit.name}-backup",
        distinct=unit.distinct,
        image=image,
        version=version,
        kind="task",
        resources=RESOURCES,
        env={"SOURCE_HOST": source.host, "SOURCE_PORT": str(unit.port)} if unit.dump else {},
        # The dump reads the unit's credentials where the unit does.
        secret_files=dict(unit.secret_files) if unit.dump else {},
        writable=["/tmp"],
        deadline_seconds=ACTIVE_DEADLINE_SECONDS,
        data=sources + [DataVolume(path=MOUNT, size=_claim_size(unit, options))],
        calls=[unit.name] if unit.dump else [],
    )


def _claim_size(unit: ServiceUnit, options: BackupOptions) -> str:
    """The size given, or as large as the unit's data (a dump or an archive is smaller)."""
    if options.storage and options.storage.size:
        return options.storage.size
    return f"{math.ceil(sum(quantity(v.size) for v in unit.data) / 2**30)}Gi"


class Backups(pulumi.ComponentResource):
    """One CronJob per source, with its ServiceAccount, its NetworkPolicy and, unless the
    options name an existing claim, a backup claim of its own, protected and retained."""

    def __init__(self, name: str, args: BackupsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maestro:kubernetes:Backups", name, None, opts)
        self.schedules: dict[str, CronJob] = {}
        for source in args.sources:
            self.schedules[source.unit.name] = self._schedule(source, args)
        self.register_outputs({})

    def _schedule(self, source: BackupSource, args: BackupsArgs) -> CronJob:
        options = args.options
        unit = backup_unit(source, options)
        labels = recommended_labels(unit, args.stack)
        meta = {"name": unit.name, "namespace": args.namespace, "labels": labels}
        child = pulumi.ResourceOptions(parent=self)
        account = ServiceAccount(unit.name, metadata=meta, automount_service_account_token=False, opts=child)
        storage = options.storage
        claim: pulumi.Input[str]
        if storage and storage.existing:
            claim = storage.existing
        else:
            claim = PersistentVolumeClaim(
                unit.name,
                metadata=meta,
                spec={
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": unit.data[-1].size}},
                    **({"storageClassName": storage.storage_class} if storage and storage.storage_class else {}),
                },
                # The backups outlive `pulumi destroy` and the data they copy, unless the stack is throwaway.
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data, retain_on_delete=args.protect_data),
            ).metadata["name"]
        template = pod_template(
            unit,
            pod_labels(labels, unit),
            account.metadata["name"],
            None,
            None,
            source.secret_files if unit.secret_files else None,
            [*(source.claims if not source.unit.dump else []), claim],
        )
        pod = template["spec"]
        (container,) = pod["containers"]
        container["command"] = ["/bin/sh", "-c", backup_script(source.unit, options.keep)]
        sources = {volume_name("data", i) for i in range(len(unit.data) - 1)}
        for volume in pod["volumes"]:
            if volume["name"] in sources:
                volume["persistentVolumeClaim"]["readOnly"] = True
        for mount in container["volumeMounts"]:
            if mount["name"] in sources:
                mount["readOnly"] = True
        if sources:
            # Its source's volume is ReadWriteOnce: attached to the node the unit's pod runs on.
            pod["affinity"] = {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": source.selector}, "topologyKey": "kubernetes.io/hostname"}
                    ]
                }
            }
        args.network.admit(unit, selector_labels(labels, unit), labels, dns=bool(unit.calls))
        return CronJob(
            unit.name,
            metadata={**meta, "annotations": policy_exceptions(unit)},
            spec={
                "schedule": options.schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
                "successfulJobsHistoryLimit": HISTORY,
                "failedJobsHistoryLimit": HISTORY,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {"backoffLimit": 1, "activeDeadlineSeconds": unit.deadline_seconds, "template": template},
                },
            },
            opts=child,
        )
