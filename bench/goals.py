"""Issue 23's goals, and how scripts/bench prints a figure against one."""

from __future__ import annotations

# A render at most this many times the bare replay of its own objects.
REPLAY_TARGET = 1.15
# Wall seconds on the 2-core CI machine.
SUITE_TARGET_SECONDS = 20
EPHEMERAL_TARGET_SECONDS = 10  # an ephemeral run, up -> verdict -> teardown (median)
WARM_UP_TARGET_SECONDS = 8  # `scripts/up` with the images built and the stack down, to every unit healthy
COLD_UP_TARGET_SECONDS = 60  # `scripts/up` with no image built yet, the base image included


def against(value: float, goal: float, unit: str = "s") -> str:
    """`1.21 (goal <= 1.15: not met)`: every figure with a goal says whether it meets it."""
    return f"(goal <= {goal:g}{' ' + unit if unit else ''}: {'met' if value <= goal else 'NOT MET'})"

GOALS = {"cold-up": COLD_UP_TARGET_SECONDS, "warm-up": WARM_UP_TARGET_SECONDS, "ephemeral": EPHEMERAL_TARGET_SECONDS}

if __name__ == "__main__":
    # For the shell scripts that measure these (scripts/smoke, scripts/ephemeral-smoke):
    # `python bench/goals.py warm-up 7.4` prints `(goal <= 8 s: met)`.
    import sys

    print(against(float(sys.argv[2]), GOALS[sys.argv[1]]))
