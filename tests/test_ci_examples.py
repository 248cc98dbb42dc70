"""The pipelines a team copies (examples/ci/): valid for GitHub Actions and GitLab CI by their own
schemas (check-jsonschema's vendored copies, offline), and doing what the README promises."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

CHECK = str(Path(sys.executable).parent / "check-jsonschema")
PIPELINES = {"github-actions.yml": "vendor.github-workflows", "gitlab-ci.yml": "vendor.gitlab-ci"}


def validate(path: Path, schema: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHECK, "--builtin-schema", schema, str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("name,schema", PIPELINES.items())
def test_each_pipeline_is_valid_for_its_platform(name, schema):
    checked = validate(ROOT / "examples/ci" / name, schema)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("name,schema", PIPELINES.items())
def test_the_schema_check_can_fail(tmp_path, name, schema):
    broken = tmp_path / name
    pipeline = yaml.safe_load((ROOT / "examples/ci" / name).read_text())
    job = pipeline["jobs"]["quality-fabric"] if "jobs" in pipeline else pipeline["quality-fabric"]
    job["timeout-minutes" if "jobs" in pipeline else "when"] = "whenever"
    broken.write_text(yaml.safe_dump(pipeline))
    assert validate(broken, schema).returncode != 0


def test_github_runs_the_candidate_publishes_junit_and_always_cleans_up():
    job = yaml.safe_load((ROOT / "examples/ci/github-actions.yml").read_text())["jobs"]["quality-fabric"]
    steps = {s["name"]: s for s in job["steps"]}
    assert "scripts/setup" in steps["Set up (the README's setup)"]["run"]
    assert '--image "engine=${ENGINE_IMAGE}"' in steps["Run quality-fabric against the candidate"]["run"]
    assert steps["Publish the test report"]["if"] == "always()" and "junit.xml" in steps["Publish the test report"]["with"]["report_paths"]
    cleanup = steps["Clean up (always, cancelled or not)"]
    assert cleanup["if"] == "always()" and "ephemeral destroy" in cleanup["run"] and "ephemeral reap" in cleanup["run"]


def test_gitlab_runs_the_candidate_publishes_junit_and_always_cleans_up():
    job = yaml.safe_load((ROOT / "examples/ci/gitlab-ci.yml").read_text())["quality-fabric"]
    assert "scripts/setup" in job["before_script"]
    assert '--image "engine=$ENGINE_IMAGE"' in " ".join(job["script"])
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["reports"]["junit"].endswith("junit.xml")
    # after_script runs when the job fails or is cancelled as well.
    assert any("ephemeral destroy" in line for line in job["after_script"]) and any("ephemeral reap" in line for line in job["after_script"])
