"""The library as a customer gets it: a wheel built from the repo, installed into a fresh venv
outside it, used by a Pulumi program of the customer's own (examples/customer-program), which
has a local `components` package too, and tested with the wheel's pytest plugin."""

import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
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


def test_a_customer_program_runs_on_the_installed_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    # The wheel's dependencies (pulumi, pydantic, pytest...) from this project's venv; the wheel
    # itself unpacked into the new one: nothing of the repo is on the path.
    here = next(p for p in sys.path if p.endswith("site-packages") and "/.venv/" in p)
    (site / "dependencies.pth").write_text(here + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    example = tmp_path / "acme"
    shutil.copytree(ROOT / "examples/customer-program", example, ignore=shutil.ignore_patterns("__pycache__"))
    python = venv / "bin/python"
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
