"""Other stacks' outputs as URLs: one `pulumi.StackReference` per referenced stack,
and the compatibility of the products they run with this stack's."""

from __future__ import annotations

from typing import Any, Optional

import pulumi

from maestro_deploy.config.environment import check_environments, environments, remote_products
from maestro_deploy.config.settings import Endpoint, StackSettings


class References:
    def __init__(self) -> None:
        self._stacks: dict[str, pulumi.StackReference] = {}

    def _stack(self, name: str) -> pulumi.StackReference:
        if name not in self._stacks:
            self._stacks[name] = pulumi.StackReference(name)
        return self._stacks[name]

    def url(self, endpoint: Endpoint) -> pulumi.Input[str]:
        """The endpoint's URL: as written, or the referenced stack's output (an error if it lacks it)."""
        if endpoint.url is not None:
            return endpoint.url
        return self._stack(endpoint.stack).require_output(endpoint.output)

    def compatibility_gate(self, settings: StackSettings) -> Optional[pulumi.Output[str]]:
        """An Output that fails when a referenced stack runs an incompatible version.

        The referenced versions are known only while deploying; the platform's first
        resource takes this as an input, so nothing that depends on it is registered
        when it fails. Offline, `check` and `render` refuse such a stack before running.
        """
        stacks = list(dict.fromkeys(stack for stack, _ in remote_products(settings)))
        if not stacks:
            return None
        versions = [self._stack(stack).get_output("versions") for stack in stacks]

        def verdict(found: list[Any]) -> str:
            outputs = {stack: {"versions": v} for stack, v in zip(stacks, found)}
            errors, _ = check_environments(environments(settings, outputs))
            if errors:
                raise pulumi.RunError("incompatible products:\n" + "\n".join(str(e) for e in errors))
            return "checked"

        return pulumi.Output.all(*versions).apply(verdict)
