"""What a build context holds before Docker sees it, filled from a lock file once per lock."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable


def once_per_lock(context: Path, lock_name: str, target_name: str, fill: Callable[[Path, Path], None]) -> None:
    """Fill `context/target_name` from `context/lock_name` with `fill(lock, target)`, unless it was
    filled from this very lock. A copy of the lock inside the target is the stamp, written only
    once `fill` returned: a fill that failed halfway is redone from an empty target next time."""
    lock = context / lock_name
    if not lock.is_file():
        return  # a context without the lock is built as it is
    target = context / target_name
    stamp = target / lock_name
    if stamp.is_file() and stamp.read_bytes() == lock.read_bytes():
        return
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    fill(lock, target)
    shutil.copyfile(lock, stamp)
