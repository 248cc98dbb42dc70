"""One redaction set at the output boundary: a secret planted through every path (a YAML alias
into each plain field, each YAML tag on a secret key, each form of a URL's userinfo or query
token in each field that takes a URL) appears in no printed stream and no non-secret file."""

import json
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro_deploy import cli
from maestro_deploy.safety.redaction import REDACTIONS, credentials_in, for_messages, printable, redacted_output

MARK = "Zq7secret4mark9X"
KUBERNETES = "  maestro:kubernetes: {namespace: maestro-test, domain: test.example.com}\n"
DOCKER = "  maestro:platform: docker\n"

# Every plain field a secret could be aliased into: (platform, YAML of the stack with `*s` there).
PLAIN_FIELDS = {
    "engine.version": "engine: {version: *s}",
    "engine.image": "engine: {image: *s}",
    "engine.templates_path": "engine: {templates_path: *s}",
    "engine.cors_origins": "engine: {cors_origins: [*s]}",
    "engine.env": "engine: {env: {X: *s}}",
    "engine.database.image": "engine: {database: {bundled: true, image: *s}}",
    "frontend.backend": "frontend: {backend: *s}",
    "frontend.backend.stack": "frontend: {backend: {stack: *s, output: engine_url}}",
    "hive.engine": "hive: {engine: *s}",
    "hive.templates_path": "{hive: {engine: 'https://api.example.com/api', templates_path: *s}}",
    "quality-fabric.name": "quality-fabric: {name: *s, target: {api_base: 'https://api.example.com/api', frontend_url: 'https://app.example.com'}}",
    "quality-fabric.target.api_base": "quality-fabric: {target: {api_base: *s}}",
    "registry.username": "registry: {username: *s}",
    "registry.storage.existing": "registry: {storage: {existing: *s}}",
    "ml-platform.env": "ml-platform: {env: {DATA: *s}}",
    "ml-platform.storage.storage_class": "ml-platform: {storage: {storage_class: *s}}",
}


def stack_text(platform: str, components: list[str], extra: str = "") -> str:
    head = KUBERNETES if platform == "kubernetes" else DOCKER
    return "config:\n" + head + extra + "  maestro:components:\n" + "".join(f"    {c}\n" for c in components)


def everything_printed_and_written(tmp_path: Path, text: str) -> str:
    """What check, render (Kubernetes and Docker), graph and outputs print, and every file render
    writes that is not a secret, for the stack `text`."""
    path = tmp_path / "Pulumi.planted.yaml"
    path.write_text(text)
    seen = []
    runs = [
        ["check", str(path)],
        ["render", str(path), "--out", str(tmp_path / "k8s")],
        ["render", str(path), "--platform", "docker", "--out", str(tmp_path / "docker"), "--state", str(tmp_path / "state")],
        ["graph", str(path)],
        ["outputs", str(path), "--state", str(tmp_path / "state")],
    ]
    for argv in runs:
        seen.append(str(cli.main(argv)))
        seen.extend(CAPTURE.readouterr())
    for directory in (tmp_path / "k8s", tmp_path / "docker"):
        for file in directory.rglob("*") if directory.exists() else []:
            if file.is_file() and "secrets" not in file.relative_to(directory).parts:
                seen.append(file.read_text(errors="replace"))
    return "\n".join(seen)


CAPTURE = None


@pytest.fixture(autouse=True)
def capture(capsys):
    global CAPTURE
    CAPTURE = capsys
    yield


# Secret keys, as YAML under maestro:components, anchoring the value `&s`.
SECRET_SOURCES = {
    "registry.password": "registry: {password: &s VALUE}",
    "hive.api_token": "hive: {api_token: &s VALUE, engine: 'https://api.example.com/api'}",
    "engine.database.url": "engine: {database: {url: &s 'postgresql://maestro:VALUE@db.example.com/maestro'}}",
}


@pytest.mark.parametrize("source", SECRET_SOURCES)
@pytest.mark.parametrize("field", PLAIN_FIELDS)
def test_a_secret_aliased_into_any_plain_field_is_never_shown(tmp_path, source, field):
    anchor = SECRET_SOURCES[source].replace("VALUE", MARK)
    target = PLAIN_FIELDS[field].strip("{}") if PLAIN_FIELDS[field].startswith("{") else PLAIN_FIELDS[field]
    if target.split(":")[0] == anchor.split(":")[0]:  # the same product: one mapping holds both
        pytest.skip("the same product's key")
    text = stack_text("kubernetes", [anchor, target])
    seen = everything_printed_and_written(tmp_path, text)
    assert MARK not in seen and "Traceback" not in seen


TAGS = {
    "!!int": "918273645546372819",
    "!!float": "918273645.546372819",
    "!!bool": "yes",
    "!!str": MARK,
    "!!timestamp": "2001-12-14t21:59:43.10-05:00",
    "!!binary": "WnE3c2VjcmV0NG1hcms5WA==",
}


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("key", ["registry: {password: %s}", "hive: {api_token: %s, engine: 'https://api.example.com/api'}", "engine: {database: {url: %s}}"])
def test_a_tagged_secret_is_refused_without_a_traceback_or_its_value(tmp_path, tag, key):
    value = TAGS[tag]
    text = stack_text("kubernetes", [key % f"{tag} {value}"])
    seen = everything_printed_and_written(tmp_path, text)
    assert "Traceback" not in seen
    for shown in {value, "918273645546372819", "2001-12-14", MARK} - {"yes"}:
        assert shown not in seen, shown


USERINFO_FORMS = {
    "scheme": "https://deploy:{m}@host.example.com/x",
    "scheme-relative": "//deploy:{m}@host.example.com/x",
    "no-scheme": "deploy:{m}@host.example.com/x",
    "scp-like": "deploy:{m}@host.example.com:team/x.git",
    "token-as-user": "https://{m}@host.example.com/x",
    "query-token": "https://host.example.com/x?access_token={m}",
    "password-with-an-at": "https://deploy:{m}@x@host.example.com/x",
}
URL_FIELDS = {
    "frontend.backend": "frontend: {backend: 'URL'}",
    "hive.engine": "hive: {engine: 'URL'}",
    "quality-fabric.target.api_base": "quality-fabric: {target: {api_base: 'URL', frontend_url: 'https://app.example.com'}}",
    "engine.cors_origins": "engine: {cors_origins: ['URL']}",
    "engine.templates_path": "engine: {templates_path: 'URL'}",
    "hive.templates_path": "hive: {engine: 'https://api.example.com/api', templates_path: 'URL'}",
    "engine.image": "engine: {image: 'URL'}",
    "ml-platform.env": "ml-platform: {env: {UPSTREAM: 'URL'}}",
}


@pytest.mark.parametrize("form", USERINFO_FORMS)
@pytest.mark.parametrize("field", URL_FIELDS)
def test_a_credential_in_any_form_in_any_url_field_is_never_shown(tmp_path, form, field):
    url = USERINFO_FORMS[form].format(m=MARK)
    text = stack_text("kubernetes", [URL_FIELDS[field].replace("URL", url)])
    seen = everything_printed_and_written(tmp_path, text)
    assert MARK not in seen and "Traceback" not in seen


def test_a_build_arg_with_a_password_is_refused_without_it(tmp_path):
    text = stack_text("docker", [f"engine: {{image: 'maestro-engine:dev', build: {{context: reference, args: {{INDEX: 'https://ci:{MARK}@pypi.example.com/simple'}}}}}}"])
    path = tmp_path / "Pulumi.arg.yaml"
    path.write_text(text)
    assert cli.main(["check", str(path)]) == 2
    err = CAPTURE.readouterr().err
    assert "maestro:components.engine.build.args.INDEX: holds a credential" in err and MARK not in err


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mark=st.from_regex(r"Zq[A-Za-z0-9]{10}", fullmatch=True),
    source=st.sampled_from(sorted(SECRET_SOURCES)),
    fields=st.lists(st.sampled_from(sorted(PLAIN_FIELDS)), min_size=1, max_size=3, unique=True),
    platform=st.sampled_from(["kubernetes", "docker"]),
)
def test_property_a_secret_reused_anywhere_shows_nowhere(tmp_path_factory, mark, source, fields, platform):
    anchor = SECRET_SOURCES[source].replace("VALUE", mark)
    products = {anchor.split(":")[0]: anchor}
    for field in fields:
        target = PLAIN_FIELDS[field].strip("{}") if PLAIN_FIELDS[field].startswith("{") else PLAIN_FIELDS[field]
        products.setdefault(target.split(":")[0], target)
    seen = everything_printed_and_written(tmp_path_factory.mktemp("p"), stack_text(platform, list(products.values())))
    assert mark not in seen and "Traceback" not in seen


# --- the set itself ---


@pytest.mark.parametrize("form", USERINFO_FORMS)
def test_every_userinfo_form_yields_its_credential(form):
    assert MARK in credentials_in(USERINFO_FORMS[form].format(m=MARK)) or "@x" in USERINFO_FORMS[form]


def test_a_message_names_a_url_without_userinfo_query_or_fragment():
    shown = for_messages("error: k: cannot reach https://u:pw@api.example.com/x?token=abc#frag now")
    assert shown == "error: k: cannot reach https://***@api.example.com/x now"


def test_terminal_escapes_never_reach_a_terminal():
    assert printable("key \x1b]0;pwned\x07 \x9b31m \u202eevil\u2028") == "key ?]0;pwned? ?31m ?evil?"


def test_stack_outputs_keys_with_terminal_escapes_are_shown_harmless(tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"acme/maestro/x": {"\x1b]0;pwned\x07\x1b[31m": "https://api.example.com/api"}}))
    path = tmp_path / "Pulumi.ref.yaml"
    path.write_text(stack_text("kubernetes", ["frontend: {backend: {stack: acme/maestro/x, output: engine_url}}"]))
    assert cli.main(["check", str(path), "--stack-outputs", str(outputs)]) == 2
    err = capsys.readouterr().err
    assert "has no output 'engine_url'" in err and "\x1b" not in err and "\x07" not in err


def test_a_non_secret_file_that_would_hold_a_secret_is_not_written(tmp_path):
    from maestro_deploy.config.errors import ConfigError
    from maestro_deploy.safety.files import File, claim

    REDACTIONS.clear()
    REDACTIONS.add(MARK, "maestro:components.registry.password")
    with pytest.raises(ConfigError, match="maestro:components.registry.password: its value would be written in plain text"):
        claim(tmp_path / "out").replace({"notes.txt": File(f"x {MARK} y")})
    assert not (tmp_path / "out" / "notes.txt").exists()
    claim(tmp_path / "out").replace({"secrets/s.env": File(f"S={MARK}\n", secret=True)})  # a secret file holds it


def test_lines_said_by_threads_at_once_stay_whole_and_redacted(monkeypatch):
    """Each image build says, from its own thread, when it is done: many threads writing at once
    must not lose, double or cut a line, nor let a secret through."""
    import io
    import threading

    from maestro_deploy.local.progress import Progress

    sink = io.StringIO()
    monkeypatch.setattr(sys, "stdout", sink)
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: a race shows at once
    try:
        with redacted_output():
            REDACTIONS.add("hunter2-secret-value", "test")
            say = Progress(started=0)

            def builds(n):
                for i in range(1000):
                    say(f"image {n}-{i} built with hunter2-secret-value")

            threads = [threading.Thread(target=builds, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(switching)
    lines = sink.getvalue().splitlines()
    assert sorted(line.split("] ", 1)[1] for line in lines) == sorted(f"image {n}-{i} built with ***" for n in range(4) for i in range(1000))
