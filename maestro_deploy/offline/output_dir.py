"""Where `render` and the Compose export write: only into a directory this tool owns.

A directory is ours when it is new (or empty), or when it holds the marker a previous render
left, which lists every file that render wrote. A new render removes exactly those files and
writes its own, so nothing of the previous stack goes stale and nothing else is touched: a
user's notes beside a render, a whole project given as `--out .`, or `/`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from maestro_deploy.config.errors import ConfigError, Problem

MARKER = ".maestro-deploy-output.json"


def _refuse(key: str, out: Path, why: str) -> ConfigError:
    return ConfigError([Problem(key, f"{out}: {why}")])


def write_owned(out: Path, write: Callable[[Path], list[Path]], key: str = "--out") -> list[Path]:
    """Claim `out`, remove the files its previous render wrote, let `write` fill it, record
    what it wrote. Exit-2 errors (ConfigError) for any directory that is not ours."""
    try:
        previous = _claim(out, key)
        for relative in previous:
            path = out / relative
            if path.is_file() or path.is_symlink():
                path.unlink()
        _remove_empty_dirs(out, previous)
        written = write(out)
        listed = sorted({str(p.relative_to(out)) for p in written})
        (out / MARKER).write_text(json.dumps({"written by": "maestro-deploy", "files": listed}, indent=1), encoding="utf-8")
        return written
    except OSError as err:
        reason = err.strerror or str(err)
        raise _refuse(key, out, f"cannot write there ({reason}); give a directory you can write to") from None


def _claim(out: Path, key: str) -> list[str]:
    """The files the previous render listed, or [] for a new or empty directory."""
    if out.is_symlink():
        raise _refuse(key, out, "is a symbolic link; give a real directory")
    if not out.exists():
        out.mkdir(parents=True)
        return []
    if not out.is_dir():
        raise _refuse(key, out, "is a file, not a directory; give a new directory for the render")
    marker = out / MARKER
    if marker.is_file():
        try:
            files = json.loads(marker.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError, TypeError):
            raise _refuse(key, out, f"its {MARKER} is damaged; remove the directory or give another") from None
        # Only paths inside the directory: a damaged or hostile marker must not reach outside it.
        return [f for f in files if isinstance(f, str) and not Path(f).is_absolute() and ".." not in Path(f).parts]
    if any(out.iterdir()):
        raise _refuse(
            key,
            out,
            "holds files that maestro-deploy did not write; it writes only into a new directory "
            "or one it wrote into before, so give another",
        )
    return []


def _remove_empty_dirs(out: Path, files: list[str]) -> None:
    """The directories the previous files were in, deepest first, where they are now empty."""
    parents = {parent for f in files for parent in Path(f).parents if parent != Path(".")}
    for directory in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        path = out / directory
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            os.rmdir(path)
