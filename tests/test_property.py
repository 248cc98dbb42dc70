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
EXPLAINED = re.compile(r"^(error|warning): \S+: \S.*$")


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
