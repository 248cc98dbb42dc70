"""scripts/bench's Docker figures, each against its goal: a cold and a warm `scripts/up` of `dev`,
and ephemeral runs (up -> verdict -> teardown). They need a Docker engine, remove this repo's
images and `dev`'s data first, and leave `dev` down: BENCH_DOCKER=0 skips them."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from goals import COLD_UP_TARGET_SECONDS, EPHEMERAL_TARGET_SECONDS, WARM_UP_TARGET_SECONDS, against

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv/bin/maestro-deploy")
BASE_IMAGE = "maestro-base:bookworm"
EPHEMERAL_RUNS = int(os.environ.get("BENCH_EPHEMERAL_RUNS", "3"))
# The README's path on a machine without the Pulumi CLI: its Compose export.
ENV = {**os.environ, "PATH": ":".join(p for p in os.environ["PATH"].split(":") if "pulumi" not in p)}


def run(args: list[str]) -> tuple[float, str]:
    """Wall seconds and output of a command that must succeed."""
    started = time.perf_counter()
    result = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return time.perf_counter() - started, result.stdout


def built_images() -> list[str]:
    """The images `dev` builds here, and the base they start from."""
    import yaml

    with tempfile.TemporaryDirectory() as out:
        run([CLI, "render", "dev", "--out", out, "--state", f"{out}/state"])
        services = yaml.safe_load(Path(out, "compose.yaml").read_text(encoding="utf-8"))["services"]
    return sorted({s["image"] for s in services.values() if "build" in s}) + [BASE_IMAGE]


def phases(output: str) -> list[str]:
    """scripts/up's progress lines: `[  12.3s] image maestro-postgres:15 built`."""
    return [line for line in output.splitlines() if line.strip().startswith("[")]


def main() -> None:
    if os.environ.get("BENCH_DOCKER") == "0" or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("\nDocker figures: not measured (no Docker engine answers, or BENCH_DOCKER=0)")
        return
    print("\nDocker, the `dev` stack (this repo's images and dev's data removed first):")
    if (ROOT / "out/dev-compose/compose.yaml").is_file():
        run([CLI, "compose", "down", "dev", "--delete-data"])
    subprocess.run(["docker", "image", "rm", "-f", *built_images()], capture_output=True)
    cold, output = run([str(ROOT / "scripts/up")])
    print(f"  cold scripts/up (no image built yet): {cold:5.1f} s {against(cold, COLD_UP_TARGET_SECONDS)}")
    for line in phases(output):
        print(f"    {line.strip()}")
    run([str(ROOT / "scripts/down")])
    warm, output = run([str(ROOT / "scripts/up")])
    print(f"  warm scripts/up (images built, stack down): {warm:5.1f} s {against(warm, WARM_UP_TARGET_SECONDS)}")
    for line in phases(output):
        print(f"    {line.strip()}")
    run([str(ROOT / "scripts/down")])
    runs = []
    with tempfile.TemporaryDirectory() as results:
        for i in range(EPHEMERAL_RUNS):
            seconds, _ = run([CLI, "ephemeral", "run", "--from", "dev", "--deploy", "engine", "--deploy", "frontend",
                              "--ttl", "30m", "--results", f"{results}/{i}"])
            runs.append(seconds)
    median = statistics.median(runs)
    print(f"  ephemeral run, up -> verdict -> teardown, median of {len(runs)}: {median:5.1f} s {against(median, EPHEMERAL_TARGET_SECONDS)}"
          f" (runs: {', '.join(f'{s:.1f}' for s in runs)})")
