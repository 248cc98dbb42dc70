"""Random stack configs: `check` and `render` only ever exit 0, or 2 with an explained
error (a key path and what is wrong), never a traceback."""

import re

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from maestro_deploy import cli

PRODUCTS = ["engine", "frontend", "hive", "quality-fabric", "ml-platform", "registry", "enigne"]
KEYS = [
    "version", "image", "digest", "replicas", "resources", "autoscaling", "env", "build", "backend", "engine",
    "target", "test_suites", "storage", "database", "cors_origins", "username", "password", "url", "stack",
    "output", "bundled", "existing", "size", "requests", "limits", "cpu", "memory", "min_replicas",
    "max_replicas", "api_base", "frontend_url", "allow_incompatible", "name", "templates_path", "junk",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=200),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["1.2.3", "latest", "2", "250m", "512Mi", "http://x.example.com/api", "ftp://x", "unit", "e2e", "", "a b"]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12,
)
# Often an empty product ({} is valid), so that the accepting path runs too.
PRODUCT = st.one_of(st.just({}), st.just({}), st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4), SCALARS)
RANDOM = st.fixed_dictionaries(
    {"maestro:components": st.one_of(st.dictionaries(st.sampled_from(PRODUCTS), PRODUCT, max_size=4), SCALARS)},
    optional={
        "maestro:platform": st.sampled_from(["kubernetes", "docker", "nomad", 3]),
        "maestro:size": st.sampled_from(["small", "large", "huge"]),
        "maestro:kubernetes": st.one_of(
            st.fixed_dictionaries({"namespace": st.sampled_from(["maestro-test", "Bad_NS", "default"])}, optional={"domain": st.sampled_from(["t.example.com", "x"])}),
            VALUES,
        ),
        "maestro:docker": st.one_of(st.fixed_dictionaries({}, optional={"publish": st.booleans(), "bind_address": st.sampled_from(["127.0.0.1", "0.0.0.0", "x"])}), VALUES),
        "maestro:junk": VALUES,
    },
)
# Close to valid: a namespace, real products, a few plausible settings.
TWEAKS = st.dictionaries(
    st.sampled_from(["version", "replicas", "env", "allow_incompatible"]),
    st.sampled_from(["1.2.3", "1.0.0", 1, 2, 0, {"LOG_LEVEL": "debug"}, True]),
    max_size=2,
)
NEAR_VALID = st.fixed_dictionaries(
    {
        "maestro:kubernetes": st.just({"namespace": "maestro-test", "domain": "test.example.com"}),
        "maestro:components": st.dictionaries(st.sampled_from(PRODUCTS[:-1]), st.one_of(st.just({}), TWEAKS), min_size=1, max_size=4),
    }
)
CONFIG = st.one_of(RANDOM, NEAR_VALID)
EXPLAINED = re.compile(r"^(error|warning): \S+: \S.*$|^note: \S.*$")


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=CONFIG)
def test_check_and_render_exit_0_or_2_with_an_explained_error(tmp_path_factory, capsys, config):
    directory = tmp_path_factory.mktemp("stack")
    path = directory / "Pulumi.random.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    code = cli.main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2), err
    assert "Traceback" not in out + err
    for line in err.splitlines():
        assert EXPLAINED.match(line), line
    if code == 2:
        assert any(line.startswith("error: ") for line in err.splitlines())
        event("refused")
        return
    event("accepted and rendered")
    # What `check` accepts, `render` renders.
    render = cli.main(["render", str(path), "--out", str(directory / "out"), "--state", str(directory / "state")])
    out, err = capsys.readouterr()
    assert render == 0, err


# --- YAML-level hostility: whatever the text, an explained exit 0 or 2, quickly ---

def alias_bomb(depth: int, width: int) -> str:
    lines = ["config:", '  l0: &l0 ["lol"]']
    for level in range(1, depth):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    lines.append(f"  maestro:components: {{engine: {{env: {{X: *l{depth - 1}}}}}}}")
    return "\n".join(lines) + "\n"


HOSTILE_YAML = st.one_of(
    st.builds(alias_bomb, st.integers(2, 14), st.integers(2, 12)),
    st.builds(lambda n: "config:\n  maestro:components: " + "[" * n + "]" * n + "\n", st.integers(1, 3000)),
    st.builds(lambda n: "config:\n  maestro:components:\n" + "".join("  " * (i + 2) + f"k{i}:\n" for i in range(n)), st.integers(1, 200)),
    st.sampled_from(
        [
            "config:\n  maestro:components: &r [*r]\n",
            "config:\n  maestro:components: &r\n    engine: *r\n",
            "config:\n  ? [a, b]\n  : x\n",
            "config:\n  ? {a: b}\n  : x\n",
            "config:\n  maestro:platform: !!python/object/apply:os.system ['true']\n",
            "config:\n  kubernetes:expiry: 2024-01-01\n  maestro:platform: docker\n  maestro:components: {engine: {}}\n",
            "config:\n  maestro:components: {engine: {version: 1.2.3}}\n  maestro:components: {}\n",
            "config: [1, 2]\n",
            "config:\n\tmaestro:platform: docker\n",
            "%YAML 9.9\n---\nconfig: {}\n",
            "config:\n  maestro:components: {engine: {replicas: 99999999999999999999999999}}\n",
            "- just\n- a list\n",
            "",
            "\x00",
        ]
    ),
    st.text(max_size=200).map(lambda t: "config:\n  maestro:components: " + t + "\n"),
)


@settings(max_examples=80, deadline=5000, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE_YAML)
def test_hostile_yaml_never_hangs_or_crashes(tmp_path_factory, capsys, text):
    path = tmp_path_factory.mktemp("stack") / "Pulumi.hostile.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    code = cli.main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in out + err, err
    assert all(EXPLAINED.match(line) for line in err.splitlines()), err


# --- secrets: a secret value, or a URL's password, never appears in what the tool prints ---

MARK = st.from_regex(r"Zq[A-Za-z0-9]{10}", fullmatch=True)
SECRET_PLACEMENTS = [
    lambda m: {"engine": {"database": {"url": f"postgresql://maestro:{m}@db.example.com:5432/maestro"}}},
    lambda m: {"engine": {"database": f"postgresql://maestro:{m}@db.example.com/maestro"}},
    lambda m: {"engine": {"database": {"url": f"postgresql://maestro:{m}#x@db.example.com/maestro"}}},
    lambda m: {"engine": {"templates_path": f"https://{m}@git.example.com/t.git"}},
    lambda m: {"frontend": {"backend": f"https://deploy:{m}@api.example.com/api"}},
    lambda m: {"frontend": {"backend": {"url": f"http://u:{m}@api.example.com:99999/api"}}},
    lambda m: {"registry": {"password": m}},
    lambda m: {"registry": {"password": f"{m}\nINJECTED=1"}},
    lambda m: {"hive": {"api_token": m, "engine": {"url": "https://api.example.com/api"}}},
    lambda m: {"quality-fabric": {"target": {"api_base": f"https://x:{m}@api.example.com/api", "api_token": m}}},
    lambda m: {"engine": {"cors_origins": [f"https://u:{m}@partner.example.com"]}},
]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mark=MARK, placements=st.lists(st.sampled_from(range(len(SECRET_PLACEMENTS))), min_size=1, max_size=3), platform=st.sampled_from(["kubernetes", "docker"]))
def test_no_secret_value_is_ever_printed(tmp_path_factory, capsys, mark, placements, platform):
    import pulumi

    from maestro_deploy.offline.render import run_stack

    components: dict = {}
    for index in placements:
        for product, settings_ in SECRET_PLACEMENTS[index](mark).items():
            components.setdefault(product, {}).update(settings_)
    config = {"maestro:platform": platform, "maestro:components": components}
    if platform == "kubernetes":
        config["maestro:kubernetes"] = {"namespace": "maestro-test", "domain": "test.example.com"}
    directory = tmp_path_factory.mktemp("stack")
    path = directory / "Pulumi.secrets.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    for argv in (["check", str(path)], ["render", str(path), "--out", str(directory / "out"), "--state", str(directory / "state")]):
        cli.main(argv)
        out, err = capsys.readouterr()
        assert mark not in out + err, (argv, err)
    # Under `pulumi up` the values arrive decrypted, their key marked secret: the error the
    # program raises quotes none of them either.
    try:
        run_stack("secrets", config, secret_keys=["maestro:components"])
    except pulumi.RunError as err:
        assert mark not in str(err)
