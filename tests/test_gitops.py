"""`render --without-secrets` and the user's own files in a render directory (offline.gitops):
no Secret written, each listed with its keys and readers, the user's files listed in
kustomization.yaml and never written, recorded or removed, every bad name refused at once.
The recipe end to end, with `kubectl kustomize`, is docs/recipes.md's (tests/test_docs.py)."""

import json
import shutil

import pytest
import yaml

from maestro_deploy import cli

SEALED = """\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: engine-env, namespace: maestro-engine}
spec:
  encryptedData: {DATABASE_URL: AgBy3i4OJSWK}
  template: {metadata: {name: engine-env}}
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """engine-only, rendered once with and once without its secrets; each test takes copies."""
    base = tmp_path_factory.mktemp("gitops")
    for name, flags in (("with", []), ("without", ["--without-secrets"])):
        assert cli.main(["render", "engine-only", "--out", str(base / name), *flags]) == 0
    return base


@pytest.fixture
def out(rendered, tmp_path):
    """A render without secrets, as a user's checkout holds it."""
    copy = tmp_path / "deploy"
    shutil.copytree(rendered / "without", copy, symlinks=True)
    return copy


def render(capsys, out, *flags):
    code = cli.main(["render", "engine-only", "--out", str(out), *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def kustomization(out):
    return yaml.safe_load((out / "kustomization.yaml").read_text())["resources"]


def test_without_secrets_no_secret_is_written_and_each_is_listed_with_its_keys_and_readers(rendered):
    out = rendered / "without"
    kinds = {yaml.safe_load(p.read_text()).get("kind") for p in out.glob("*.yaml") if p.name != "expected-secrets.yaml"}
    assert "Secret" not in kinds and not list(out.glob("secret-*.yaml"))
    assert "expected-secrets.yaml" not in kustomization(out)
    masked = {yaml.safe_load(p.read_text())["metadata"]["name"]: yaml.safe_load(p.read_text())["stringData"] for p in (rendered / "with").glob("secret-*.yaml")}
    listed = yaml.safe_load((out / "expected-secrets.yaml").read_text())["secrets"]
    assert {s["name"]: s["keys"] for s in listed} == {name: sorted(data) for name, data in masked.items()} and masked
    readers = {s["name"]: s["read_by"] for s in listed}
    assert readers == {"engine-env": ["Deployment/engine"], "engine-db-secret-files": ["Deployment/engine-db"]}
    # The rest is the same render.
    assert sorted(kustomization(out)) == sorted(n for n in kustomization(rendered / "with") if not n.startswith("secret-"))


def test_the_user_s_files_are_listed_and_kept_never_written_recorded_or_removed(out, capsys):
    (out / "sealed").mkdir()
    (out / "sealed/engine-env.yaml").write_text(SEALED)
    (out / "user-resources.yaml").write_text("resources: [sealed/engine-env.yaml]\n")
    code, printed, err = render(capsys, out, "--without-secrets")
    assert code == 0, err
    assert kustomization(out)[-1] == "sealed/engine-env.yaml" and "no Secret" in printed
    recorded = json.loads((out / ".maestro-deploy-output.json").read_text())["files"]
    assert not {"sealed/engine-env.yaml", "user-resources.yaml"} & set(recorded)
    # Named no more: no longer listed, still there.
    (out / "user-resources.yaml").write_text("resources: []\n")
    assert render(capsys, out, "--without-secrets")[0] == 0
    assert "sealed/engine-env.yaml" not in kustomization(out)
    assert (out / "sealed/engine-env.yaml").read_text() == SEALED and (out / "user-resources.yaml").exists()


def test_a_render_with_secrets_into_a_directory_rendered_without_them_is_refused(out, capsys):
    before = (out / "kustomization.yaml").read_text()
    code, _, err = render(capsys, out)
    assert code == 2 and err.startswith(f"error: --without-secrets: {out} was rendered without secrets")
    assert not list(out.glob("secret-*.yaml")) and (out / "kustomization.yaml").read_text() == before


def test_a_render_without_secrets_removes_the_masked_ones_a_render_with_them_left(rendered, tmp_path, capsys):
    out = tmp_path / "deploy"
    shutil.copytree(rendered / "with", out)
    assert render(capsys, out, "--without-secrets")[0] == 0
    assert not list(out.glob("secret-*.yaml")) and not [n for n in kustomization(out) if n.startswith("secret-")]


@pytest.mark.parametrize(
    "name, why",
    [
        ("../outside.yaml", "not a path inside the directory"),
        ("/etc/hostname", "not a path inside the directory"),
        ("sealed/../outside.yaml", "not a path inside the directory"),
        ("missing.yaml", "no such file in"),
        ("link.yaml", "is a symbolic link"),
        ("linked-dir/engine-env.yaml", "is a symbolic link"),
        ("sealed", "not a regular file"),
        ("deployment-engine.yaml", "is a file the render writes"),
        ("expected-secrets.yaml", "is a file the render writes"),
        ("user-resources.yaml", "is a file the render writes"),
    ],
)
def test_a_bad_user_resource_is_refused_naming_it_and_nothing_is_written(out, capsys, name, why):
    (out / "sealed").mkdir()
    (out / "sealed/engine-env.yaml").write_text(SEALED)
    (tmp := out.parent / "outside.yaml").write_text(SEALED)
    (out / "link.yaml").symlink_to(tmp)
    (out / "linked-dir").symlink_to(out / "sealed")
    (out / "user-resources.yaml").write_text(yaml.safe_dump({"resources": ["sealed/engine-env.yaml", name]}))
    before = (out / "kustomization.yaml").read_text()
    code, _, err = render(capsys, out, "--without-secrets")
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"error: {out}/user-resources.yaml: resources[1]: {name}: ") and why in err
    assert err.count("error:") == 1
    assert (out / "kustomization.yaml").read_text() == before


def test_every_bad_user_resource_is_reported_at_once(out, capsys):
    (out / "user-resources.yaml").write_text("resources: [../a.yaml, b.yaml, b.yaml]\n")
    code, _, err = render(capsys, out, "--without-secrets")
    assert code == 2 and [line.split(": ")[2] for line in err.splitlines()] == ["resources[0]", "resources[1]", "resources[2]"]


@pytest.mark.parametrize(
    "text, error",
    [
        ("resource: [a.yaml]\n", "user-resources.yaml: resource: unknown key; the file holds only `resources:`"),
        ("resources: a.yaml\n", "user-resources.yaml: resources: Input should be a valid list"),
        ("resources: [1]\n", "user-resources.yaml: resources[0]: Input should be a valid string"),
        ("resources: [a\n", "user-resources.yaml: not valid YAML"),
    ],
)
def test_a_bad_user_resources_file_names_its_key(out, capsys, text, error):
    (out / "user-resources.yaml").write_text(text)
    code, _, err = render(capsys, out, "--without-secrets")
    assert code == 2 and err.startswith(f"error: {out}/{error}"), err


def test_a_user_resources_file_that_is_a_symbolic_link_is_refused(out, capsys):
    (out.parent / "elsewhere.yaml").write_text("resources: []\n")
    (out / "user-resources.yaml").symlink_to(out.parent / "elsewhere.yaml")
    code, _, err = render(capsys, out, "--without-secrets")
    assert code == 2 and err.startswith(f"error: {out}: user-resources.yaml: is a symbolic link")


def test_a_docker_stack_has_no_secret_objects_to_leave_out(tmp_path, capsys):
    code = cli.main(["render", "dev", "--out", str(tmp_path / "dev"), "--state", str(tmp_path / "state"), "--without-secrets"])
    assert code == 2 and "error: --without-secrets: only a Kubernetes render holds Secret objects" in capsys.readouterr().err
    assert not (tmp_path / "dev").exists()


EXTERNAL = """\
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: from-vault}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target: {name: engine-db-secret-files}
  data: [{secretKey: run_secrets_postgres-password, remoteRef: {key: maestro/engine-db, property: password}}]
"""


def test_each_secret_no_file_of_the_user_s_supplies_is_a_warning(out, capsys):
    code, _, err = render(capsys, out, "--without-secrets")
    assert code == 0 and [line.split()[2] for line in err.splitlines()] == ["engine-db-secret-files:", "engine-env:"]
    (out / "sealed.yaml").write_text(SEALED)
    (out / "external.yaml").write_text(EXTERNAL)
    (out / "user-resources.yaml").write_text("resources: [sealed.yaml]\n")
    assert render(capsys, out, "--without-secrets")[2].startswith("warning: Secret engine-db-secret-files: the stack reads it and no file")
    (out / "user-resources.yaml").write_text("resources: [sealed.yaml, external.yaml]\n")
    assert render(capsys, out, "--without-secrets") [2] == ""


def test_a_render_with_secrets_beside_files_of_the_user_s_that_supply_them_is_refused(rendered, tmp_path, capsys):
    out = tmp_path / "deploy"
    shutil.copytree(rendered / "with", out)
    (out / "sealed.yaml").write_text(SEALED)
    (out / "user-resources.yaml").write_text("resources: [sealed.yaml]\n")
    before = (out / "kustomization.yaml").read_text()
    code, _, err = render(capsys, out)
    assert code == 2 and err == (
        f"error: {out}/user-resources.yaml: your files supply these Secrets, which this render would write masked beside them: engine-env; render with --without-secrets\n"
    )
    assert (out / "kustomization.yaml").read_text() == before


def test_a_user_file_that_is_not_yaml_is_named_by_line_without_its_content(out, capsys):
    (out / "sealed.yaml").write_text("kind: Secret\nstringData: {DATABASE_URL: postgres://maestro:hunter2-not-shown@db/x\n")
    (out / "user-resources.yaml").write_text("resources: [sealed.yaml]\n")
    code, _, err = render(capsys, out, "--without-secrets")
    assert code == 2 and err == f"error: {out}/user-resources.yaml: resources[0]: sealed.yaml: not valid YAML (line 3)\n"
