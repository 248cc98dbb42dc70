"""Every problem in one run: each check runs on every part of the config that parsed, whatever
another check found, and a check that cannot run says so in a `note:` line."""

import copy
import itertools
import textwrap

import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro_deploy import cli

STACK_OUTPUTS = str(ROOT / "tests/corpus/stack-outputs.json")


def check(tmp_path, capsys, text, name="staged", command="check"):
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(textwrap.dedent(text) if isinstance(text, str) else yaml.safe_dump(text))
    out = tmp_path / "out"
    argv = [command, str(path), "--stack-outputs", STACK_OUTPUTS] + (["--out", str(out)] if command == "render" else [])
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and not out.exists()
    return code, err


# The five stacks where one problem used to hide another, each with both problems' lines.
STAGED = {
    "URL errors hid a tls error": (
        "staged",
        """
        config:
          maestro:kubernetes:
            namespace: maestro-test
            domain: test.example.com
            tls: {secret_name: wildcard-tls, cluster_issuer: letsencrypt}
          maestro:components:
            engine: {}
            frontend: {backend: "ftp://api.example.com/api"}
        """,
        [
            "error: maestro:components.frontend.backend: expected an absolute http:// or https:// URL",
            "error: maestro:kubernetes.tls: give exactly one of secret_name, cluster_issuer, or certificate with key",
        ],
    ),
    "a missing kubernetes.domain hid the compatibility error": (
        "staged",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test}
          maestro:components:
            engine: {version: "1.0.0"}
            frontend: {version: "1.1.0"}
        """,
        [
            "error: maestro:kubernetes.domain: required: the frontend uses this stack's engine",
            "error: maestro:components.frontend: frontend 1.1.0 requires engine ^1.2.0, but engine 1.0.0 is deployed",
        ],
    ),
    "a secure: env entry hid three plain-secret errors": (
        "staged",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test, domain: test.example.com}
          maestro:components:
            engine:
              env: {FEATURE_KEY: {secure: v1:c2VjcmV0}}
              database: {url: "postgresql://maestro:Zq-staged-01@db.example.com/maestro"}
            hive: {api_token: Zq-staged-02}
            registry: {password: Zq-staged-03}
        """,
        [
            "error: maestro:components.engine.env.FEATURE_KEY: encrypted, but this key is not a secret",
            "error: maestro:components.engine.database.url: must be a Pulumi secret, not plain text",
            "error: maestro:components.registry.password: must be a Pulumi secret, not plain text",
            "error: maestro:components.hive.api_token: must be a Pulumi secret, not plain text",
        ],
    ),
    "a bad stack name hid the kube-system namespace error": (
        "Bad_Name",
        """
        config:
          maestro:kubernetes: {namespace: kube-system}
          maestro:components: {engine: {}}
        """,
        [
            "error: stack: 'Bad_Name': expected a DNS label",
            "error: maestro:kubernetes.namespace: 'kube-system' is reserved",
        ],
    ),
    "a plain-string database hid the templates_path credentials error": (
        "staged",
        """
        config:
          maestro:kubernetes: {namespace: maestro-test, domain: test.example.com}
          maestro:components:
            engine:
              database: "postgresql://maestro:Zq-staged-04@db.example.com/maestro"
              templates_path: https://deploy:Zq-staged-05@git.example.com/templates.git
        """,
        [
            "error: maestro:components.engine.database: Input should be a valid dictionary",
            "error: maestro:components.engine.templates_path: expected a path in the image (/opt/templates) or a git URL",
        ],
    ),
}


@pytest.mark.parametrize("command", ["check", "render"])
@pytest.mark.parametrize("case", STAGED, ids=list(STAGED))
def test_a_problem_no_longer_hides_another(tmp_path, capsys, nothing_registered, case, command):
    name, text, expected = STAGED[case]
    code, err = check(tmp_path, capsys, text, name, command)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2
    assert len(errors) == len(expected), err
    for want in expected:
        assert any(line.startswith(want) for line in errors), f"{want!r} not in:\n{err}"
    assert "Zq-staged" not in err


def test_the_pulumi_program_reports_them_all_too(monkeypatch):
    """Under `pulumi up`: the stack's name and its config's problems in one RunError."""
    import pulumi

    from maestro_deploy.offline.render import run_stack

    config = {"maestro:kubernetes": {"namespace": "kube-system"}, "maestro:components": {"engine": {"version": "1.0.0"}, "frontend": {"version": "1.1.0", "backend": "ftp://x"}}}
    with pytest.raises(pulumi.RunError) as raised:
        run_stack("Bad_Name", config)
    message = str(raised.value)
    for want in (
        "stack: 'Bad_Name'",
        "maestro:kubernetes.namespace: 'kube-system' is reserved",
        "maestro:components.frontend.backend: expected an absolute",
        "frontend 1.1.0 requires engine ^1.2.0",
        "note: the checks that read maestro:components.frontend.backend did not run",
    ):
        assert want in message, message


# --- independence: two problems found by different checks are both reported, and only they ---

BASE = {
    "maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"},
    "maestro:components": {"engine": {}, "frontend": {}},
}
# One problem each, on a part no other touches, from each check: (which check, config, stack name).
PROBLEMS = [
    ("the stack's name", {}, "Not_A_Label"),
    ("a secret where none belongs", {"maestro:components": {"engine": {"env": {"FLAG": {"secure": "v1:Zm9v"}}}}}, None),
    ("a plain secret", {"maestro:components": {"registry": {"password": "Zq-plain-0001"}}}, None),
    ("a credential in a plain field", {"maestro:components": {"frontend": {"env": {"GIT": "https://u:Zq-cred-0002@git.example.com/x"}}}}, None),
    ("a control character", {"maestro:components": {"quality-fabric": {"name": "two\nlines", "test_suites": ["unit"]}}}, None),
    ("an unknown key", {"maestro:components": {"engine": {"replica": 2}}}, None),
    ("a value that does not parse", {"maestro:components": {"frontend": {"backend": "ftp://api.example.com"}}}, None),
    ("a check between keys", {"maestro:kubernetes": {"tls": {"secret_name": "a", "cluster_issuer": "b"}}}, None),
    ("a reserved namespace", {"maestro:kubernetes": {"namespace": "kube-public"}}, None),
    ("a single-replica product", {"maestro:components": {"ml-platform": {"replicas": 2}}}, None),
    ("the compatibility matrix", {"maestro:components": {"engine": {"version": "1.0.0"}, "frontend": {"version": "1.1.0"}}}, None),
    ("a stack reference", {"maestro:components": {"hive": {"engine": {"stack": "acme/maestro/nowhere", "output": "engine_url"}}}}, None),
]


def merged(base, *changes):
    out = copy.deepcopy(base)
    for change in changes:
        for key, value in change.items():
            out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def errors_of(tmp_path, capsys, changes, names):
    tmp_path.mkdir(exist_ok=True)
    name = next((n for n in names if n), "independent")
    code, err = check(tmp_path, capsys, {"config": merged(BASE, *changes)}, name)
    return code, {line for line in err.splitlines() if line.startswith("error: ")}


def test_the_base_stack_is_valid(tmp_path, capsys):
    assert errors_of(tmp_path, capsys, [], []) == (0, set())


_ALONE: dict[str, set[str]] = {}


def alone(tmp_path_factory, capsys, problem):
    """The error lines of the base stack with this one problem: computed once per session."""
    label, change, name = problem
    if label not in _ALONE:
        code, found = errors_of(tmp_path_factory.mktemp("alone"), capsys, [change], [name])
        assert code == 2 and found, label
        _ALONE[label] = found
    return _ALONE[label]


@pytest.mark.parametrize("one, other", list(itertools.combinations(PROBLEMS, 2)), ids=lambda p: p[0])
def test_two_independent_problems_are_both_reported(tmp_path, tmp_path_factory, capsys, one, other):
    code, both = errors_of(tmp_path, capsys, [one[1], other[1]], [one[2], other[2]])
    assert code == 2 and both == alone(tmp_path_factory, capsys, one) | alone(tmp_path_factory, capsys, other)


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.lists(st.sampled_from(PROBLEMS), min_size=3, max_size=len(PROBLEMS), unique_by=lambda p: p[0]))
def test_any_number_of_independent_problems_are_all_reported(tmp_path_factory, capsys, chosen):
    code, together = errors_of(tmp_path_factory.mktemp("many"), capsys, [c for _, c, _ in chosen], [n for _, _, n in chosen])
    assert code == 2 and together == set().union(*(alone(tmp_path_factory, capsys, p) for p in chosen))


def test_a_check_that_cannot_run_says_so_and_the_others_still_run(tmp_path, capsys):
    """With no platform known, no check between keys can run; the compatibility checks, which
    need only the versions, still do."""
    config = merged(BASE, {"maestro:platform": "dockr", "maestro:components": {"engine": {"version": "1.0.0"}, "frontend": {"version": "1.1.0"}}})
    code, err = check(tmp_path, capsys, {"config": config})
    assert code == 2
    assert "error: maestro:platform: Input should be 'kubernetes' or 'docker'" in err
    assert "frontend 1.1.0 requires engine ^1.2.0" in err
    assert "note: the checks between keys did not run: maestro:platform did not parse, and each depends on it\n" in err


def test_a_product_that_does_not_parse_hides_none_of_the_others(tmp_path, capsys):
    """`components` as a list: the platform's own keys are still checked, and a line says which were not."""
    config = {"maestro:kubernetes": {"namespace": "kube-system"}, "maestro:components": ["engine"]}
    code, err = check(tmp_path, capsys, {"config": config})
    assert code == 2
    assert "error: maestro:kubernetes.namespace: 'kube-system' is reserved" in err
    assert "note: the checks that read maestro:components did not run: its value is refused above\n" in err


def test_a_key_that_does_not_parse_is_not_read_as_omitted(tmp_path, capsys):
    """A backend that does not parse is not 'no backend': no error asks for one, nor for the
    public host its absence would need."""
    config = {"maestro:kubernetes": {"namespace": "maestro-test"}, "maestro:components": {"frontend": {"backend": "ftp://x.example.com"}}}
    code, err = check(tmp_path, capsys, {"config": config})
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and errors[0].startswith("error: maestro:components.frontend.backend: expected"), err


@pytest.mark.parametrize(
    "frontend, refused",
    [
        ({"version": "latest!"}, "maestro:components.frontend.version: expected a version"),
        ({"version": "1.1.0", "backend": {"stack": "not a stack name", "output": "engine_url"}}, "maestro:components.frontend.backend.stack: "),
    ],
    ids=["its version", "whom it calls"],
)
def test_compatibility_is_not_checked_on_what_did_not_parse(tmp_path, capsys, frontend, refused):
    """A frontend whose version, or whose stack reference (it names another stack's engine), did
    not parse is checked against no engine: the catalog's version, or this stack's engine, would be a
    guess. A backend written as a URL is paired with this stack's engine, valid or not, as any URL is."""
    config = merged(BASE, {"maestro:components": {"engine": {"version": "1.0.0"}, "frontend": frontend}})
    code, err = check(tmp_path, capsys, {"config": config})
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and errors[0].startswith(f"error: {refused}"), err


@pytest.mark.parametrize(
    "product, key",
    [("frontend", "backend"), ("hive", "engine"), ("quality-fabric", "target.api_base"), ("quality-fabric", "target.frontend_url")],
)
def test_a_url_given_as_a_string_is_reported_where_it_was_written(tmp_path, capsys, product, key):
    value = "app.example.com"
    for part in reversed(key.split(".")):
        value = {part: value}
    config = {"maestro:kubernetes": {"namespace": "maestro-test", "domain": "test.example.com"}, "maestro:components": {"engine": {}, product: value}}
    code, err = check(tmp_path, capsys, {"config": config})
    assert code == 2
    assert f"error: maestro:components.{product}.{key}: expected an absolute http:// or https:// URL" in err
    assert f"{key}.url" not in err
