"""The library as a customer gets it: a wheel built from the repo, installed into a fresh venv
outside it, used by a Pulumi program of the customer's own (examples/customer-program), which
has a local `components` package too, and tested with the wheel's pytest plugin."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr  # pip says why it could not build
    (built,) = dist.glob("maestro_deploy-*.whl")
    return built


def test_the_wheel_carries_the_library_its_data_and_no_bare_components_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "maestro_components/config/catalog.yaml" in names
    assert "maestro_components/config/compatibility-matrix.yaml" in names
    assert "maestro_components/products/engine.py" in names and "maestro_deploy/testing.py" in names
    assert not [n for n in names if n.startswith("components/")]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "maestro = maestro_deploy.pytest_plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()


def dependencies_without_the_project(tmp_path) -> str:
    """This project's venv with maestro-deploy itself left out: the wheel's dependencies (pulumi,
    pydantic, pytest ...) at hand, as PyPI would give them, but not the project."""
    here = Path(next(p for p in sys.path if p.endswith("site-packages") and "/.venv/" in p))
    deps = tmp_path / "dependencies"
    deps.mkdir()
    for entry in here.iterdir():
        if not (entry.name.startswith(("maestro_deploy", "__editable__")) or entry.suffix == ".pth"):
            (deps / entry.name).symlink_to(entry)
    return str(deps)


def test_a_customer_program_installs_and_runs_on_the_wheel_as_its_readme_says(wheel, tmp_path):
    example = tmp_path / "acme"
    shutil.copytree(ROOT / "examples/customer-program", example, ignore=shutil.ignore_patterns("__pycache__"))
    readme = (example / "README.md").read_text()
    assert "pip wheel --no-deps -w wheels /path/to/maestro-deploy" in readme and "pip install -r requirements.txt" in readme
    (example / "wheels").mkdir()
    shutil.copy(wheel, example / "wheels")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "dependencies.pth").write_text(dependencies_without_the_project(tmp_path) + "\n")
    python = venv / "bin/python"
    # The README's install into the fresh venv: the project only from wheels/, which the
    # requirements file itself names (no index here, so nothing else could supply it).
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index", "-r", "requirements.txt"],
        cwd=example,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    located = subprocess.run(
        [str(python), "-c", "import maestro_components, maestro_deploy, components; print(maestro_components.__file__, components.__file__)"],
        cwd=example,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert located[0].startswith(str(site)) and located[1] == str(example / "components/__init__.py")
    tested = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "."], cwd=example, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "4 passed" in tested.stdout


def test_the_testing_extra_brings_pytest(wheel):
    metadata = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA"))
    lines = zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
    assert "Provides-Extra: testing" in lines
    assert any(line.startswith("Requires-Dist: pytest") and "extra == \"testing\"" in line for line in lines)
