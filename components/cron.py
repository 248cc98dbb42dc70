"""The schedule grammar a Kubernetes CronJob accepts (robfig/cron's standard parser), checked
before anything is deployed, so that a typo is an error naming its key rather than a CronJob
the API server refuses halfway through `pulumi up`, or one that never runs.

Five fields, minute hour day-of-month month day-of-week, each a comma-separated list of
`*` or `?`, `N`, `N-M`, any of them with `/step`; months and weekdays also by name (JAN, mon);
or one of the macros. Numbers are digits only, and Sunday is 0 (7 is refused, as Kubernetes does).
"""

from __future__ import annotations

import re
from typing import Optional

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names from the lowest up)
FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 6, WEEKDAYS),
)
# The most days each month ever has (February in a leap year).
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def cron_problem(schedule: str) -> Optional[str]:
    """What is wrong with `schedule`, or None when a CronJob takes it and it ever fires."""
    text = schedule.strip(" \t")
    if text.startswith("@"):
        return None if text in MACROS else f"unknown macro {text!r}; expected one of {', '.join(MACROS)}"
    fields = re.split(r"[ \t]+", text) if text else []
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got {len(fields)}"
    values = []
    for field, (name, low, high, names) in zip(fields, FIELDS):
        parsed = _field(field, low, high, names)
        if isinstance(parsed, str):
            return f"{name} {field!r}: {parsed}"
        values.append(parsed)
    days, months, weekdays_starred = values[2][0], values[3][0], values[4][1]
    # With day-of-week unrestricted (`*`), a day of month that no chosen month has never comes.
    if weekdays_starred and not values[2][1] and not any(d <= DAYS_IN_MONTH[m - 1] for d in days for m in months):
        return "never fires: none of the months chosen has any of the days of month chosen"
    return None


def _field(field: str, low: int, high: int, names: Optional[list[str]]) -> tuple[set[int], bool] | str:
    """(the values a field selects, whether it starts with a star), or what is wrong with it."""
    chosen: set[int] = set()
    starred = False
    for part in field.split(","):
        span, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                return f"step {step_text!r} must be a positive number"
            step = int(step_text)
        if span in ("*", "?"):
            # A star anywhere in the list makes the field "starred", as robfig/cron reads it.
            start, end, starred = low, high, True
        else:
            bounds = span.split("-")
            if len(bounds) > 2:
                return f"{span!r}: one '-' at most"
            numbers = [_number(b, names) for b in bounds]
            if None in numbers:
                bad = bounds[numbers.index(None)]
                return f"{bad!r} is not a number" + (f" or a name ({'/'.join(n.upper() for n in names)})" if names else "")
            start = numbers[0]
            # `N/step` runs from N to the highest value.
            end = numbers[-1] if len(numbers) == 2 or not slash else high
            if not low <= start <= high or not low <= end <= high:
                return f"out of range: {low} to {high}"
            if start > end:
                return f"{span!r} runs backwards"
        chosen.update(range(start, end + 1, step))
    return chosen, starred


def _number(text: str, names: Optional[list[str]]) -> Optional[int]:
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if names is MONTHS else 0)
    return int(text) if text.isdigit() else None
