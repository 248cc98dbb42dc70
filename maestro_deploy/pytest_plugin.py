"""The pytest plugin of maestro_deploy.testing, registered by the package's `pytest11` entry
point: installed, its fixtures are there in every test, with no conftest to write."""

from __future__ import annotations

import pytest

from .testing import render_program, render_stack


@pytest.fixture
def maestro_stack():
    """`maestro_stack("stacks/Pulumi.staging.yaml")`: a stack file or config map, rendered."""
    return render_stack


@pytest.fixture
def maestro_program():
    """`maestro_program(main, config)`: your own Pulumi program, rendered under Pulumi's mocks."""
    return render_program
