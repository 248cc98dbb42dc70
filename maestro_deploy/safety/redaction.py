"""One redaction set, applied at the output boundary.

Every value that came from a secret source joins `REDACTIONS` when a stack's config is read
(config.raw_checks.collect_secrets): each `secure:` value, each value under a secret key (one
reached through a YAML alias is the same value), each URL's password in any form (with a scheme,
`//user:pw@host`, `user:pw@host/...`, scp-like `user:pw@host:path`) and each credential in a
URL's query. Then every printed line goes through it (`redacted_output`, installed by the CLI
for errors, warnings, tracebacks and results alike), and every file the writer writes that is not
a secret is checked against it (safety.files). So a secret never shows, whatever field it lands
in; a message that names a URL shows it without userinfo, query or fragment; and nothing echoed
from input carries a control character or a terminal escape.
"""

from __future__ import annotations

import io
import os
import re
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, Optional, TextIO
from urllib.parse import unquote

# Shorter values are not credible secrets, and hiding them would garble every line.
MIN_LENGTH = 6
# A userinfo without a password is a token (https://ghp_...@github.com) when it is this long.
MIN_TOKEN = 12
MASK = "***"
# Query parameters that carry a credential.
_CREDENTIAL_NAME = re.compile(r"(?i)token|key|secret|pass|pwd|auth|sig|credential|session")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?=//)")
# scheme://userinfo@: to the userinfo's last @ (a password may hold one unescaped).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)\S*@")
# A URL in a message: what follows its host and path (query, fragment) goes.
_URL_EXTRAS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#'\"`]*)[?#][^\s'\"`)]*")
# What may not reach a terminal from input: C0 (but tab and newline), DEL, C1, line and
# paragraph separators, and the bidirectional controls that reorder what a reader sees.
SEPARATORS_AND_BIDI = "\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{SEPARATORS_AND_BIDI}]")


def without_userinfo(text: str) -> str:
    """Every URL in `text` with its user and password replaced by ***."""
    return _USERINFO.sub(r"\1***@", text)


def printable(text: str) -> str:
    """`text` with control characters and terminal escapes shown as `?`."""
    return _UNPRINTABLE.sub("?", text)


def credentials_in(value: str) -> list[str]:
    """The password (or token) of a URL in any form, and the credentials in its query."""
    found: list[str] = []
    rest = _SCHEME.sub("", value.strip())
    rest = rest[2:] if rest.startswith("//") else rest
    authority = re.split(r"[/?#\s]", rest, maxsplit=1)[0]
    if "@" in authority:
        userinfo = authority.rsplit("@", 1)[0]
        user, colon, password = userinfo.partition(":")
        found.append(password if colon else (user if len(user) >= MIN_TOKEN else ""))
    query = value.partition("?")[2].partition("#")[0]
    for pair in filter(None, re.split("[&;]", query)):
        name, _, given = pair.partition("=")
        if _CREDENTIAL_NAME.search(name):
            found.append(given)
    return [f for f in found if f]


class Redactions:
    """The values that must never be shown, each with the key it came from."""

    def __init__(self) -> None:
        self._sources: dict[str, str] = {}

    def add(self, value: str, source: str) -> None:
        for form in {value, unquote(value)}:
            if len(form) >= MIN_LENGTH:
                self._sources.setdefault(form, source)

    def add_credentials(self, value: str, source: str) -> None:
        for credential in credentials_in(value):
            self.add(credential, source)

    def found_in(self, text: str) -> Optional[str]:
        """The key of a secret whose value `text` holds, if any."""
        return next((source for value, source in self._sources.items() if value in text), None)

    def redact(self, text: str) -> str:
        for value in sorted(self._sources, key=len, reverse=True):
            text = text.replace(value, MASK)
        return printable(text)

    def clear(self) -> None:
        self._sources.clear()


REDACTIONS = Redactions()


def for_messages(text: str) -> str:
    """A message as it is printed: redacted, and each URL without userinfo, query or fragment."""
    return _URL_EXTRAS.sub(r"\1", without_userinfo(REDACTIONS.redact(text)))


class _RedactingStream(io.TextIOBase):
    """Passes whole lines to `stream`, each through `clean`: a secret is never split across writes.
    Threads write to it too (each image build says when it is done): the pending text is theirs
    to share, under a lock, or a line could be lost, doubled, or passed on cut in two."""

    def __init__(self, stream: TextIO, clean) -> None:
        self._stream, self._clean, self._pending = stream, clean, ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self._stream.write(self._clean(lines + "\n"))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._stream.write(self._clean(self._pending))
                self._pending = ""
            self._stream.flush()

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()


@contextmanager
def redacted_output(reveal_results: bool = False) -> Iterator[None]:
    """sys.stdout and sys.stderr through the redaction set while it runs: messages (stderr) also
    lose URLs' queries and fragments; results (stdout) are left whole only when the user asked
    for secrets (`outputs --show-secrets`), and even then carry no control character."""
    REDACTIONS.clear()  # one command, one set: what it reads from now on
    out, err = sys.stdout, sys.stderr
    sys.stdout = _RedactingStream(out, printable if reveal_results else REDACTIONS.redact)
    sys.stderr = _RedactingStream(err, for_messages)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BrokenPipeError:
                silence_stdout()
        sys.stdout, sys.stderr = out, err


def silence_stdout() -> None:
    """The reader of stdout went away (`outputs | head`): what is still buffered goes nowhere,
    instead of a BrokenPipeError when the interpreter flushes it at exit."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
    except (OSError, ValueError, AttributeError):
        pass
