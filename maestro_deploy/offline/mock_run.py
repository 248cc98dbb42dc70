"""Running the real program under Pulumi's mocks, recording everything it registers.

This is the offline `pulumi preview`: `render`, the test harness and the
benchmark all stand on it. Nothing in the program knows it is being mocked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pulumi
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import source_pb2

PROJECT = "maestro"
# Stand-in for provider-computed secrets (generated passwords) in an offline render.
GENERATED_SECRET = "generated-secret-placeholder"
SECRET_MASK = "[secret]"


@dataclass
class Registered:
    """One resource the program registered, as the engine would have received it."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]  # secrets still wrapped: see `rpc.is_rpc_secret`
    parent: str
    provider: str
    protect: bool
    retain_on_delete: bool
    dependencies: list[str] = field(default_factory=list)
    aliases: list[Any] = field(default_factory=list)
    timeouts: dict[str, str] = field(default_factory=dict)  # customTimeouts: how long `pulumi up` waits for it


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, generated: Optional[dict[str, str]], stack_outputs: Optional[dict[str, dict[str, Any]]]):
        self.generated = generated
        self.stack_outputs = stack_outputs or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            # What `--stack-outputs FILE` says the referenced stack exports.
            name = args.inputs["name"]
            return name, {"name": name, "outputs": self.stack_outputs.get(name, {}), "secretOutputNames": []}
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = rpc.wrap_rpc_secret(self._password(args.name, int(args.inputs.get("length", 32))))
        if args.typ == "random:index/randomId:RandomId":
            # Stable per name, as the provider's is once created: renders stay comparable.
            state["hex"] = hashlib.sha256(args.name.encode()).hexdigest()[: 2 * int(args.inputs.get("byteLength", 8))]
        return f"{args.name}-id", state

    def _password(self, name: str, length: int) -> str:
        """A placeholder, or, for a run that will really start (Compose), a real
        password kept in `generated` so that the next render reuses it."""
        if self.generated is None:
            return GENERATED_SECRET
        if name not in self.generated:
            self.generated[name] = secrets.token_hex(length)[:length]
        return self.generated[name]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class _Logged(logging.Handler):
    """The program's log, kept: the offline tools print the warnings `check` found themselves,
    so the engine's copy of each is recorded here rather than printed a second time."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []
        self.logger = logging.Logger("maestro-deploy.program")  # not in the logging tree: never printed
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


class _RecordingMonitor(MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registered: list[Registered] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response  # the engine's root, not something the program declares
        self.registered.append(
            Registered(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                inputs=rpc.deserialize_properties(request.object),
                parent=request.parent,
                provider=request.provider,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                dependencies=list(request.dependencies),
                aliases=[str(a) for a in request.aliases],
                timeouts={k: v for k in ("create", "update", "delete") if (v := getattr(request.customTimeouts, k))},
            )
        )
        return response


def reveal(value: Any) -> tuple[Any, bool]:
    """(value, whether it was secret), for what the program registered. A list with one secret
    item arrives secret as a whole."""
    if rpc.is_rpc_secret(value):
        return rpc.unwrap_rpc_secret(value), True
    return value, False


@dataclass
class Run:
    registered: list[Registered]
    outputs: dict[str, Any]  # values revealed: mask `secret_outputs` wherever they are shown
    secret_outputs: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)  # what the program said with pulumi.log.warn

    def shown_outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        """The outputs as `pulumi stack output` shows them: secrets masked unless asked for."""
        return {k: v if show_secrets or k not in self.secret_outputs else SECRET_MASK for k, v in self.outputs.items()}


def run_program(
    stack: str,
    config: dict[str, Any],
    program: Callable[[], Optional[dict[str, Any]]],
    secret_keys: Optional[list[str]] = None,
    generated: Optional[dict[str, str]] = None,
    stack_outputs: Optional[dict[str, dict[str, Any]]] = None,
) -> Run:
    """Run `program` under mocks with `config` set as the Pulumi CLI would set it.

    `generated`, if given, holds the real values of generated passwords by resource
    name; missing ones are generated into it. Without it, they are a placeholder.
    `stack_outputs` are what referenced stacks export: {"org/project/stack": {...}}.
    """
    mocks = _Mocks(generated, stack_outputs)
    monitor = _RecordingMonitor(mocks)
    logged = _Logged()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor, logger=logged.logger)
    # What the program passes to `pulumi.export` lands in the root Stack's outputs. The SDK keeps
    # one root per process: a previous run's exports are not this run's.
    root_outputs: dict[str, Any] = pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]
    root_outputs.clear()
    # The CLI hands the program every value as a string, objects as JSON.
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}, secret_keys or []
    )
    exported: dict[str, Any] = {}
    secret: set[str] = set()

    @pulumi.runtime.test
    def evaluate():
        returned = program() or {}
        # What `pulumi stack output` would show: the exports, and what the program returned.
        exports = {**root_outputs, **returned}
        outputs = {k: pulumi.Output.from_input(v) for k, v in exports.items()}

        async def secret_names() -> set[str]:
            return {k for k, o in outputs.items() if await o.is_secret()}

        # Returning an Output makes the test wait until every value is known.
        return pulumi.Output.all(
            pulumi.Output.all(**outputs).apply(exported.update),
            pulumi.Output.from_input(asyncio.ensure_future(secret_names())).apply(secret.update),
        )

    opened = []
    policy = asyncio.get_event_loop_policy()
    create = policy.new_event_loop

    def tracked() -> asyncio.AbstractEventLoop:
        loop = create()
        opened.append(loop)
        return loop

    policy.new_event_loop = tracked  # type: ignore[method-assign]
    # For each resource the SDK walks the whole Python stack and turns every frame into a source
    # position, which the engine shows in its diagnostics; the mocks read none of it. It was a
    # third of an evaluation under pytest's and hypothesis's deep stacks, and a tenth of a render.
    stack_trace = sdk_resource._get_stack_trace
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        evaluate()
    finally:
        sdk_resource._get_stack_trace = stack_trace
        policy.new_event_loop = create  # type: ignore[method-assign]
        _close_event_loops(opened + [_current_loop()])
    return Run(registered=monitor.registered, outputs=exported, secret_outputs=secret, warnings=logged.warnings)


def _current_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return None


def _close_event_loops(loops: list[Optional[asyncio.AbstractEventLoop]]) -> None:
    """Close the event loops the mocks opened (theirs and the SDK's helper threads').

    Left open, a loop can be collected at exit after its self-pipe socket and
    print `Exception ignored in BaseEventLoop.__del__`. They are the loops made while
    the program ran: tracking them is cheaper than searching the heap for them.
    """
    for loop in loops:
        if loop is not None and not loop.is_running() and not loop.is_closed():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    asyncio.set_event_loop(None)
