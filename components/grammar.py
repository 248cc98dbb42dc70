"""The platforms' own grammars: what Kubernetes, Docker and the image distribution spec accept,
checked where a value is given, so that `check` passing means the platform takes what `render`
writes. One module, shared by the library's options and the tool's checks.

Each `is_*` says whether a value is valid; `url_problem` says what is wrong with a URL (or None).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

from maestro_components.quantity import quantity

# --- names ---------------------------------------------------------------------------------
# RFC 1123 label: Service, Namespace and container names, volumes, a Compose project.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# A Kubernetes label value: at most 63, alphanumeric at both ends (a version `1.2.3-rc.` is not).
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
MAX_HOST_NAME = 253


def is_dns_label(value: str) -> bool:
    return _DNS_LABEL.fullmatch(value) is not None


def is_dns_subdomain(value: str) -> bool:
    """An object name (IngressClass, StorageClass) or a host name: labels joined by dots, at most 253."""
    return 0 < len(value) <= MAX_HOST_NAME and all(is_dns_label(label) for label in value.split("."))


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and _LABEL_VALUE.fullmatch(value) is not None


def is_ipv4(value: str) -> bool:
    """A dotted IPv4 address as `ipaddress` reads it (no leading zeros: 127.0.0.01 is ambiguous)."""
    try:
        ipaddress.IPv4Address(value)
        return True
    except ValueError:
        return False


# --- image references (github.com/distribution/reference) ----------------------------------
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REFERENCE = re.compile(
    rf"(?P<name>(?:(?P<host>{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?P<ipv6>[0-9a-fA-F:.]+)\])"
    rf"(?::(?P<port>[0-9]+))?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?",
    re.ASCII,
)
MAX_IMAGE_NAME = 255


def is_image_reference(value: str) -> bool:
    """[registry[:port]/]path[:tag][@sha256:digest], the grammar every registry and runtime parses."""
    match = _REFERENCE.fullmatch(value)
    if not match or len(match.group("name")) > MAX_IMAGE_NAME:
        return False
    if match.group("port") is not None and not _is_port(match.group("port")):
        return False
    return match.group("ipv6") is None or _is_ipv6(match.group("ipv6"))


# --- quantities ----------------------------------------------------------------------------
# Docker's minimums: `--cpus` below 0.01 and `--memory` below 6 MiB are refused by the daemon.
DOCKER_MIN_CPUS = 0.01
DOCKER_MIN_MEMORY = 6 * 2**20
# Kubernetes counts CPU in millicores: a finer amount is not one it can schedule.
MIN_CPU = 1e-3


def bytes_problem(text: str) -> Optional[str]:
    """What is wrong with an amount of memory or storage, which is counted in whole bytes."""
    amount = quantity(text)
    if text.endswith("m"):
        return f"{text} is in millibytes, surely a typo: write {text[:-1]}Mi (or {text[:-1]}M)"
    if amount == 0:
        return "must be more than 0"
    if amount != int(amount):
        return f"{text} is a fraction of a byte: memory and storage are counted in whole bytes, such as 512Mi or 2Gi"
    return None


# The largest body ingress-nginx takes, in the megabytes it is written in (`100m`): its
# client_max_body_size is an off_t, and nginx refuses a larger value (ngx_parse_offset).
MAX_NGINX_MEGABYTES = (2**63 - 1) // 2**20


def upload_size_problem(text: str) -> Optional[str]:
    """What is wrong with the largest request body a public host takes (ingress-nginx's proxy-body-size)."""
    if problem := bytes_problem(text):
        return problem
    if round(quantity(text) / 2**20) > MAX_NGINX_MEGABYTES:
        return f"more than ingress-nginx takes ({MAX_NGINX_MEGABYTES}m)"
    return None


# --- sizes ---------------------------------------------------------------------------------
# What the API server stores in one object (etcd's request limit), and a ConfigMap's or Secret's data.
MAX_OBJECT = 3 * 2**19  # 1.5 MiB
MAX_CONFIG_DATA = 2**20  # 1 MiB
# All of one object's annotations (the API server's limit): where a client-side `kubectl apply`
# keeps its copy of the whole object (kubectl.kubernetes.io/last-applied-configuration).
MAX_ANNOTATIONS = 256 * 2**10
# The kernel's limit on one argument or environment string, `NAME=value` (MAX_ARG_STRLEN).
MAX_ENV_VALUE = 128 * 2**10
# RFC 9110 (4.1): senders and recipients should take URIs of at least 8000 octets; a longer one
# some proxy, browser or git refuses, and a few of them must fit in one env value or ConfigMap.
MAX_URL = 8000
# The longest path the kernel resolves (PATH_MAX).
MAX_PATH = 4096
# Free text, such as a test config's name: it lands in a ConfigMap beside URLs, far within 1 MiB.
MAX_TEXT = 64 * 2**10
# An origin: https:// (8), a host name (253) and :65535 (6).
MAX_ORIGIN = 8 + MAX_HOST_NAME + 6


def size(text: str) -> int:
    """What a platform counts: the bytes of its UTF-8 encoding."""
    return len(text.encode("utf-8", "surrogatepass"))


def size_problem(text: str, limit: int, why: str) -> Optional[str]:
    """What is wrong with a text of more than `limit` bytes, saying why the limit is (never quoting it)."""
    return f"{size(text)} bytes; at most {limit} ({why})" if size(text) > limit else None


def object_size_problem(kind: str, size: int) -> Optional[str]:
    limit = MAX_CONFIG_DATA if kind in ("ConfigMap", "Secret") else MAX_OBJECT
    if size > limit:
        return f"{size} bytes; the API server takes at most {limit / 2**20:g} MiB in one {kind}"
    return None


# --- URLs ----------------------------------------------------------------------------------
# Quotes, markup, backslashes, spaces, controls, bidirectional controls, separators and any
# non-ASCII character: a URL carries them percent-encoded or not at all (they break a Mermaid
# graph, an HTML attribute, a shell, or what a reader sees).
_NOT_IN_URLS = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]")
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:(?P<userinfo>[^/?#]*)@)?"
    r"(?P<host>\[[^\]/?#]*\]|[^:/?#\[\]]*)(?::(?P<port>[^/?#]*))?"
    r"(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?",
    re.S,
)
_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class Url:
    scheme: str
    userinfo: Optional[str]
    host: str
    port: Optional[int]
    path: str
    query: Optional[str]
    fragment: Optional[str]


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= 65535


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
        return "%" not in text
    except ValueError:
        return False


def host_problem(host: str) -> Optional[str]:
    if host.startswith("["):
        return None if _is_ipv6(host[1:-1]) else "its host is not a valid IPv6 address"
    if re.fullmatch(r"[0-9.]+", host):
        return None if is_ipv4(host) else "its host is not a valid IPv4 address"
    if not host or len(host) > MAX_HOST_NAME:
        return "its host is empty or longer than 253 characters"
    if not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        return "its host is not a DNS name: labels of letters, digits and '-' (not at either end), at most 63, none empty"
    return None


def parse_url(text: str, schemes: tuple[str, ...] = ("http", "https")) -> Url:
    """A URL by one strict reading, or ValueError saying what is wrong (never quoting it)."""
    if problem := size_problem(text, MAX_URL, "the longest URL every server, proxy and browser must take"):
        raise ValueError(problem)
    if _NOT_IN_URLS.search(text):
        raise ValueError("holds a character a URL cannot carry as is (a space, quote, markup, control or non-ASCII character)")
    match = _URL.fullmatch(text)
    if not match:
        raise ValueError("not an absolute URL (scheme://host/...)")
    if match.group("scheme").lower() not in schemes:
        raise ValueError(f"its scheme is not {' or '.join(schemes)}")
    if problem := host_problem(match.group("host")):
        raise ValueError(problem)
    port = match.group("port")
    if port is not None and not _is_port(port):
        raise ValueError("its port is not a number from 1 to 65535")
    return Url(
        match.group("scheme").lower(), match.group("userinfo"), match.group("host"), int(port) if port else None,
        match.group("path") or "", match.group("query"), match.group("fragment"),
    )


def url_problem(text: str, schemes: tuple[str, ...] = ("http", "https"), credentials: bool = False) -> Optional[str]:
    """What is wrong with `text` as a URL of `schemes`; without credentials unless allowed."""
    try:
        url = parse_url(text, schemes)
    except ValueError as err:
        return str(err)
    if not credentials and url.userinfo is not None:
        return "holds credentials (user or password), which would be deployed and shown in plain text"
    return None


def api_base_problem(text: str) -> Optional[str]:
    """What is wrong with an http(s) URL as an API's base, to which its caller appends paths."""
    url = parse_url(text)
    if url.query is not None or url.fragment is not None:
        return "an API base takes no query or fragment: the paths its caller appends would land inside them"
    return None


# --- Docker daemon addresses (DOCKER_HOST) -------------------------------------------------------
# What the Docker CLI and the Docker provider take as a daemon's address, and no more: a Unix
# socket by its absolute path, tcp://host[:port] or ssh://[user@]host[:port]. None of it needs a
# shell's quoting (a render prints it in a command to copy), and a password is refused, as Docker
# refuses it: ssh:// logs in with a key or an agent.
_SOCKET_PATH = re.compile(r"/[A-Za-z0-9._/-]+")
_SSH_USER = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]*")


def docker_host_problem(text: str) -> Optional[str]:
    """What is wrong with `text` as a Docker daemon's address (never quoting it)."""
    if text.startswith("unix://"):
        path = text.removeprefix("unix://")
        if len(path) > MAX_PATH or not _SOCKET_PATH.fullmatch(path):
            return "its socket path is not absolute, or holds something but letters, digits and . _ - /"
        return None
    if not text.startswith(("tcp://", "ssh://")):
        return "its scheme is not unix, tcp or ssh"
    try:
        url = parse_url(text, ("tcp", "ssh"))
    except ValueError as err:
        return str(err)
    if url.userinfo is not None and (url.scheme == "tcp" or not _SSH_USER.fullmatch(url.userinfo)):
        return "holds a password, or a user where none belongs: ssh:// logs in with a key or an agent"
    if url.path or url.query is not None or url.fragment is not None:
        return "has a path, a query or a fragment: a daemon is a host and a port"
    return None


# --- cron schedules (a Kubernetes CronJob's: robfig/cron's standard parser) ---------------------
# The schedule grammar a Kubernetes CronJob accepts (robfig/cron's standard parser), checked
# before anything is deployed, so that a typo is an error naming its key rather than a CronJob
# the API server refuses halfway through `pulumi up`, or one that never runs.
#
# Five fields, minute hour day-of-month month day-of-week, each a comma-separated list of
# `*` or `?`, `N`, `N-M`, any of them with `/step`; months and weekdays also by name (JAN, mon);
# or one of the macros. Numbers are digits only, and Sunday is 0 (7 is refused, as Kubernetes does).
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names from the lowest up)
CRON_FIELDS = (
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
        return None if text in CRON_MACROS else f"unknown macro {text!r}; expected one of {', '.join(CRON_MACROS)}"
    fields = re.split(r"[ \t]+", text) if text else []
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got {len(fields)}"
    values = []
    for field, (name, low, high, names) in zip(fields, CRON_FIELDS):
        parsed = _cron_field(field, low, high, names)
        if isinstance(parsed, str):
            return f"{name} {field!r}: {parsed}"
        values.append(parsed)
    days, months, weekdays_starred = values[2][0], values[3][0], values[4][1]
    # With day-of-week unrestricted (`*`), a day of month that no chosen month has never comes.
    if weekdays_starred and not values[2][1] and not any(d <= DAYS_IN_MONTH[m - 1] for d in days for m in months):
        return "never fires: none of the months chosen has any of the days of month chosen"
    return None


def _cron_field(field: str, low: int, high: int, names: Optional[list[str]]) -> tuple[set[int], bool] | str:
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
            numbers = [_cron_number(b, names) for b in bounds]
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


def _cron_number(text: str, names: Optional[list[str]]) -> Optional[int]:
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if names is MONTHS else 0)
    return int(text) if text.isdigit() else None
