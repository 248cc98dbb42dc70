"""The one way this tool touches the filesystem: every render, the Compose export, its state,
ephemeral results and backups write through here, and every user-given file is read through here.

How to write into a directory the tool owns (a new or empty one, or one it wrote into before):

    owned = claim(out, key="--out")          # exit 2 (ConfigError) unless `out` is ours; before any state is written
    owned.replace({
        "compose.yaml": File(text),                                   # checked against the redaction set
        "secrets/engine.env": File(env, mode=0o600, secret=True),     # secret: written as is, its directory 0700
    }, directories={"reports/runner": 0o777})

`replace` removes what the previous write there left and writes these files, each atomically
(a temporary file, then a rename), and records each one's SHA-256 in the directory's marker, with
the directories it made (a mode is set only on one of those). A write that fails halfway records
what it wrote. `remove_owned(path, key)` removes a directory the tool wrote, and nothing else in it.
Everything is opened relative to a directory descriptor with O_NOFOLLOW: no symbolic link inside
the directory is followed, to read, write or delete. A file is deleted or overwritten only when
its content still has the hash recorded when it was written, so a forged or damaged marker costs
nothing, and a file of the user's under a name the write needs is an exit-2 error naming it.

A file of its own in a directory shared with the user (the state in `.maestro-state/`):
`write_private(directory, name, text)` and `read_private(directory, name, key)`.
A file the user names (a stack file, `--stack-outputs`): `read_user_file(path, key)`, a regular
file under a size cap, else an exit-2 error at once (a FIFO, `/dev/zero`, a 2 GiB file).
A file of the user's inside an owned directory (`render --without-secrets`'s user-resources.yaml
and the files it names): `owned.read_user(name, key)`, before `replace`; never one the marker records.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, Optional, Union

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.safety.redaction import REDACTIONS

MARKER = ".maestro-deploy-output.json"
# A stack file, a --stack-outputs file or a state file: far beyond any real one, far below harm.
MAX_READ = 16 * 2**20
MAX_MARKER = 4 * 2**20
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class File:
    content: Union[str, bytes]
    mode: int = 0o644
    # Holds a secret on purpose (an env file for a container): written as is, in an owner-only directory.
    secret: bool = False
    owner: Optional[tuple[int, int]] = None  # (uid, gid) given the file when run as root

    def data(self, where: str) -> bytes:
        data = self.content.encode("utf-8") if isinstance(self.content, str) else self.content
        if not self.secret and (found := REDACTIONS.found_in(data.decode("utf-8", "replace"))):
            raise ConfigError([Problem(found, f"its value would be written in plain text into {where}; a secret goes only into a secret")])
        return data


def _refuse(key: str, path: Union[Path, str], why: str) -> ConfigError:
    return ConfigError([Problem(key, f"{path}: {why}")])


def _valid_relative(name: object) -> bool:
    if not isinstance(name, str) or not name or "\x00" in name or name.startswith("/"):
        return False
    parts = name.split("/")
    return all(part not in ("", ".", "..") for part in parts) and name != MARKER


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class OwnedDirectory:
    """A directory claimed by `claim`: its descriptor, and the files and directories its previous
    write recorded."""

    def __init__(self, path: Path, fd: int, recorded: dict[str, str], key: str, directories: Optional[frozenset[str]] = frozenset()):
        self.path, self.fd, self.recorded, self.key = path, fd, recorded, key
        # None: a marker from before directories were recorded. Its directories are taken as
        # ours once; the ones it made for containers are those it made world-writable.
        self.before_directories_were_recorded = directories is None
        self.recorded_directories = _world_writable(fd) if directories is None else directories

    def replace(self, files: dict[str, File], directories: Optional[dict[str, int]] = None) -> list[Path]:
        """Remove what the previous write left (where unchanged), write `files`, record them.
        `directories`: directories to make with a mode of their own (never a user's: one that is
        there and not recorded is in the way), recorded too."""
        directories = directories or {}
        written: dict[str, str] = {}
        made: set[str] = set()
        try:
            planned = {name: file.data(str(self.path / name)) for name, file in files.items()}
            for name in [*planned, *directories]:
                if not _valid_relative(name):
                    raise ValueError(f"not a path inside the directory: {name!r}")
            for name in planned:
                if not self._free(name):
                    raise _refuse(
                        self.key, self.path / name,
                        "is in the way: a file maestro-deploy did not write (or one changed since); move it, or give another directory",
                    )
            for name in directories:
                if not self._directory_free(name):
                    raise _refuse(self.key, self.path / name, "is in the way: a directory maestro-deploy did not make; move it, or give another directory")
            stale = set(self.recorded) - set(planned)
            for name in sorted(stale):
                self._remove_if_ours(name)
            dropped = self.recorded_directories - set(directories)
            self._remove_empty_parents(stale | {f"{d}/-" for d in dropped})
            # One still there holds what containers wrote: still ours, and recorded again.
            kept = frozenset(d for d in dropped if self._directory_there(d))
            for name, mode in directories.items():
                with _parent(self.fd, f"{name}/.", create=True) as (parent, _):
                    os.fchmod(parent, mode)
                made.add(name)
            for name, data in planned.items():
                file = files[name]
                with _parent(self.fd, name, create=True, private=file.secret) as (parent, base):
                    _write_atomically(parent, base, data, file.mode, file.owner)
                written[name] = _digest(data)
            self._record(written, frozenset(directories) | kept)
            return [self.path / name for name in planned]
        except (ConfigError, OSError) as err:
            if written or made:
                # What was written is recorded, beside what the previous write left: the next
                # write may replace all of it, and nothing of the user's is taken for ours.
                try:
                    self._record({**self.recorded, **written}, self.recorded_directories | set(directories))
                except OSError:
                    pass  # the error below says what went wrong; this one would only hide it
            if isinstance(err, ConfigError):
                raise
            raise _refuse(self.key, self.path, _why(err)) from None
        finally:
            self.close()

    def _record(self, files: dict[str, str], directories: frozenset[str]) -> None:
        marker = {"written by": "maestro-deploy", "files": dict(sorted(files.items())), "directories": sorted(directories)}
        _write_atomically(self.fd, MARKER, json.dumps(marker, indent=1).encode(), 0o644, None)
        self.recorded, self.recorded_directories = marker["files"], directories

    def close(self) -> None:
        """Done with the directory without writing (`replace` closes it too)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def read_user(self, name: str, key: str) -> Optional[bytes]:
        """A file of the user's in this directory that its own config (`key`) names, None when
        absent: a bounded regular-file read that follows no symbolic link on its way, and an
        exit-2 error for a name outside the directory or a file this tool wrote."""
        def refuse(why: str) -> ConfigError:
            return ConfigError([Problem(key, f"{name}: {why}")])

        if not _valid_relative(name):
            raise refuse("not a path inside the directory: a relative path, without `..` or `.`")
        if name in self.recorded:
            raise refuse("is a file maestro-deploy wrote (its marker records it); give yours a name of its own")
        try:
            with _parent(self.fd, name, create=False) as (parent, base):
                return _read_at(parent, base, MAX_READ)
        except FileNotFoundError:
            return None
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR):
                raise refuse("is a symbolic link, or has one on its way; give the file itself") from None
            raise refuse(f"cannot read it ({err.strerror or err})") from None
        except ValueError as err:
            raise refuse(f"{err}; expected a regular file") from None

    def _free(self, name: str) -> bool:
        """Whether `name` may be written: nothing there, or the file recorded there, unchanged."""
        try:
            with _parent(self.fd, name, create=False) as (parent, base):
                info = os.stat(base, dir_fd=parent, follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode):
                    return False
                return name in self.recorded and _hash_of(parent, base) == self.recorded[name]
        except FileNotFoundError:
            return True

    def _directory_there(self, name: str) -> bool:
        try:
            with _parent(self.fd, f"{name}/.", create=False):
                return True
        except OSError:
            return False

    def _directory_free(self, name: str) -> bool:
        """Whether a directory may be made (or its mode set) at `name`: nothing there, or the
        directory recorded there."""
        try:
            with _parent(self.fd, name, create=False) as (parent, base):
                info = os.stat(base, dir_fd=parent, follow_symlinks=False)
                return stat.S_ISDIR(info.st_mode) and (name in self.recorded_directories or self.before_directories_were_recorded)
        except FileNotFoundError:
            return True

    def _remove_if_ours(self, name: str) -> None:
        try:
            with _parent(self.fd, name, create=False) as (parent, base):
                if _hash_of(parent, base) == self.recorded[name]:
                    os.unlink(base, dir_fd=parent)
        except OSError:
            pass  # gone, a link, a directory, or changed: not ours to delete

    def _remove_empty_parents(self, names: set[str]) -> None:
        parents = {str(p) for name in names for p in PurePosixPath(name).parents if str(p) != "."}
        for directory in sorted(parents, key=lambda p: p.count("/"), reverse=True):
            try:
                with _parent(self.fd, directory, create=False) as (parent, base):
                    os.rmdir(base, dir_fd=parent)  # only when empty; never through a link
            except OSError:
                pass


def claim(out: Path, key: str = "--out") -> OwnedDirectory:
    """`out` as a directory this tool owns, or an exit-2 error naming it; creates it when new."""
    if _CONTROL.search(str(out)):
        # Printed in the commands to run, it would break their line (or pass for another one).
        raise _refuse(key, out, "holds a control character (a newline, a tab ...); give a plain path")
    try:
        if out.is_symlink():
            raise _refuse(key, out, "is a symbolic link; give a real directory")
        if not out.exists():
            out.mkdir(parents=True)
        elif not out.is_dir():
            raise _refuse(key, out, "is a file, not a directory; give a new directory for the render")
        fd = os.open(out, _DIRECTORY)
    except ConfigError:
        raise
    except OSError as err:
        raise _refuse(key, out, _why(err)) from None
    try:
        files, directories = _recorded(fd, out, key)
        return OwnedDirectory(out, fd, files, key, directories)
    except BaseException:
        os.close(fd)
        raise


def remove_owned(path: Path, key: str) -> None:
    """Remove a directory this tool wrote (one `claim` takes), whole: each file only while it has
    the hash recorded, what the stack's containers wrote into the directories it made world-
    writable for them, then those directories and the marker. Anything else in it (the user's, or
    a file changed since) stays, and is an exit-2 error naming it. Nothing is written on the way:
    a full disk does not stop it."""
    if not path.exists() and not path.is_symlink():
        return
    owned = claim(path, key)
    try:
        for directory in sorted(owned.recorded_directories):
            _empty_if_theirs(owned.fd, directory)
        for name in owned.recorded:
            owned._remove_if_ours(name)
        owned._remove_empty_parents(set(owned.recorded) | {f"{d}/-" for d in owned.recorded_directories})
        try:
            os.unlink(MARKER, dir_fd=owned.fd)
        except FileNotFoundError:
            pass  # an empty directory, or one a removal emptied of all but the user's files
        left = sorted(os.listdir(owned.fd))
    except OSError as err:
        raise _refuse(key, path, _why(err)) from None
    finally:
        owned.close()
    if left:
        raise _refuse(key, path, f"holds {', '.join(left[:5])}, which maestro-deploy did not write (or which changed since); move them")
    try:
        os.rmdir(path)
    except OSError as err:
        raise _refuse(key, path, _why(err)) from None


def _world_writable(root: int) -> frozenset[str]:
    """The directories two levels down (`reports/<unit>`) that others may write into."""
    found = set()
    for top in os.listdir(root):
        if not stat.S_ISDIR(os.stat(top, dir_fd=root, follow_symlinks=False).st_mode):
            continue
        inner = os.open(top, _DIRECTORY, dir_fd=root)
        try:
            for name in os.listdir(inner):
                info = os.stat(name, dir_fd=inner, follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode) and info.st_mode & 0o002:
                    found.add(f"{top}/{name}")
        finally:
            os.close(inner)
    return frozenset(found)


def _empty_if_theirs(root: int, directory: str) -> None:
    """Empty a directory the writer made for containers to write into (a runner's reports): what
    is in it is the stack's. Only while it is still world-writable, as the writer made it: a
    marker naming one of the user's directories (forged, or copied) empties nothing."""
    try:
        with _parent(root, f"{directory}/.", create=False) as (parent, _):
            if os.fstat(parent).st_mode & 0o002:
                _empty(parent, depth=0)
    except FileNotFoundError:
        pass  # removed already: nothing of it to remove


MAX_DEPTH = 32


def _empty(directory: int, depth: int) -> None:
    """Remove everything in the directory open as `directory`, following no symbolic link."""
    if depth > MAX_DEPTH:
        raise OSError(errno.EMLINK, "directories nested too deeply to remove", "")
    for name in os.listdir(directory):
        if stat.S_ISDIR(os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode):
            inner = os.open(name, _DIRECTORY, dir_fd=directory)
            try:
                _empty(inner, depth + 1)
            finally:
                os.close(inner)
            os.rmdir(name, dir_fd=directory)
        else:
            os.unlink(name, dir_fd=directory)


def _recorded(fd: int, out: Path, key: str) -> tuple[dict[str, str], Optional[frozenset[str]]]:
    """The files the marker records with their hashes, and the directories it made; nothing for
    an empty directory."""
    try:
        data = _read_at(fd, MARKER, MAX_MARKER)
    except FileNotFoundError:
        if os.listdir(fd):
            raise _refuse(
                key, out,
                "holds files that maestro-deploy did not write; it writes only into a new directory "
                "or one it wrote into before, so give another",
            ) from None
        return {}, frozenset()
    except (OSError, ValueError):
        data = b""
    try:
        marker = json.loads(data)
        files = marker["files"]
        if marker.get("written by") != "maestro-deploy" or not isinstance(files, dict):
            raise ValueError
        if not all(_valid_relative(n) and isinstance(h, str) and _SHA256.fullmatch(h) for n, h in files.items()):
            raise ValueError
        directories = marker.get("directories")  # absent: written before directories were recorded
        if directories is None:
            return files, None
        if not isinstance(directories, list) or not all(_valid_relative(d) for d in directories):
            raise ValueError
        return files, frozenset(directories)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _refuse(key, out, f"its {MARKER} is damaged (or not one this version wrote); remove the directory or give another") from None


@contextmanager
def _parent(root: int, name: str, create: bool, private: bool = False) -> Iterator[tuple[int, str]]:
    """(descriptor of the directory that holds `name`, its last part), walking from `root`
    one directory at a time, none of them a symbolic link; created (0700 if private) when asked."""
    *directories, base = name.split("/")
    fds: list[int] = []
    try:
        current = root
        for part in directories:
            if create:
                try:
                    os.mkdir(part, 0o700 if private else 0o755, dir_fd=current)
                except FileExistsError:
                    pass
            try:
                current = os.open(part, _DIRECTORY, dir_fd=current)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise NotADirectoryError(err.errno, "a symbolic link or a file where a directory belongs", part) from None
                raise
            fds.append(current)
            if private:
                os.fchmod(current, 0o700)
        yield current, base
    finally:
        for fd in fds:
            os.close(fd)


def _read_at(parent: int, name: str, cap: int) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    try:
        return _read_regular(fd, cap)
    finally:
        os.close(fd)


def _read_regular(fd: int, cap: int) -> bytes:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file")
    if info.st_size > cap:
        raise ValueError(f"larger than {cap // 2**20} MiB")
    data = b""
    while chunk := os.read(fd, cap + 1 - len(data)):
        data += chunk
        if len(data) > cap:
            raise ValueError(f"larger than {cap // 2**20} MiB")
    return data


def _hash_of(parent: int, base: str) -> Optional[str]:
    try:
        return _digest(_read_at(parent, base, MAX_READ * 8))
    except (OSError, ValueError):
        return None


def _write_atomically(parent: int, base: str, data: bytes, mode: int, owner: Optional[tuple[int, int]]) -> None:
    temporary = f".{base}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent)
    try:
        try:
            view, written = memoryview(data), 0
            while written < len(data):
                written += os.write(fd, view[written:])
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, *owner)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        # A rename replaces whatever the name held, a symbolic link included, and follows nothing.
        os.rename(temporary, base, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=parent)
        except OSError:
            pass
        raise


def _why(err: OSError) -> str:
    where = f": {err.filename}" if isinstance(err.filename, str) and not err.filename.startswith("/") else ""
    return f"cannot write there ({err.strerror or err}{where}); give a directory you can write to"


def read_user_file(path: Path, what: str, cap: int = MAX_READ) -> bytes:
    """A file the user named (`what`: "stack file"), if it is a regular file no larger than `cap`:
    else an exit-2 error naming it at once, never a hang on a FIFO or a read that eats memory."""
    def refuse(why: str) -> ConfigError:
        return ConfigError([Problem(str(path), why)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise refuse(f"no such {what}") from None
    except OSError as err:
        raise refuse(f"cannot read it ({what}): {err.strerror or err}") from None
    try:
        return _read_regular(fd, cap)
    except ValueError as err:
        raise refuse(f"{err} ({what}); expected a regular file, not a directory, FIFO or device") from None
    except OSError as err:
        raise refuse(f"cannot read it ({what}): {err.strerror or err}") from None
    finally:
        os.close(fd)


def _private_directory(directory: Path, key: str, create: bool) -> Optional[int]:
    try:
        if directory.is_symlink():
            raise _refuse(key, directory, "is a symbolic link; give a real directory")
        if create:
            directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        return os.open(directory, _DIRECTORY)
    except ConfigError:
        raise
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ENOTDIR or (err.errno == errno.EEXIST and not directory.is_dir()):
            raise _refuse(key, directory, "is a file, not a directory") from None
        raise _refuse(key, directory, _why(err)) from None


def read_private(directory: Path, name: str, key: str) -> Optional[bytes]:
    """A file of the tool's own in `directory` (None when absent), never through a symbolic link."""
    fd = _private_directory(directory, key, create=False)
    if fd is None:
        return None
    try:
        return _read_at(fd, name, MAX_READ)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        why = err.strerror if isinstance(err, OSError) else str(err)
        raise _refuse(key, directory / name, f"cannot read it ({why}); expected a file maestro-deploy wrote") from None
    finally:
        os.close(fd)


def remove_private(directory: Path, name: str, key: str) -> None:
    """Remove a file of the tool's own from `directory`, never through a symbolic link, then the
    directory if that left it empty."""
    fd = _private_directory(directory, key, create=False)
    if fd is None:
        return
    try:
        try:
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass
        empty = not os.listdir(fd)
    except OSError as err:
        raise _refuse(key, directory / name, _why(err)) from None
    finally:
        os.close(fd)
    if empty:
        try:
            os.rmdir(directory)
        except OSError as err:
            raise _refuse(key, directory, _why(err)) from None


def write_private(directory: Path, name: str, text: str, key: str) -> None:
    """Write a file of the tool's own (0600) in `directory` (0700, created when missing), atomically."""
    fd = _private_directory(directory, key, create=True)
    try:
        _write_atomically(fd, name, text.encode("utf-8"), 0o600, None)
    except OSError as err:
        raise _refuse(key, directory / name, _why(err)) from None
    finally:
        os.close(fd)
