"""The installed `maestro-deploy` command ends with `os._exit` (maestro_deploy/entry.py): what it
printed, even without a newline, still arrives, the exit functions still run, and its exit code
is `main`'s."""

import os
import subprocess
import sys

from conftest import ROOT

PROGRAM = """
import atexit, pathlib, sys
from maestro_deploy import cli, entry

def main():
    atexit.register(lambda: pathlib.Path(sys.argv[1]).write_text("exit functions ran"))
    print("a line")
    print("no newline at the end", end="")
    print("on stderr", end="", file=sys.stderr)
    return 3

cli.main = main
entry.run()
"""


def test_output_exit_functions_and_the_exit_code_survive_the_early_exit(tmp_path):
    marker = tmp_path / "marker"
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as a pipe to a user's script is
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(marker)], capture_output=True, text=True, cwd=ROOT, env=buffered)
    assert (result.returncode, result.stdout, result.stderr) == (3, "a line\nno newline at the end", "on stderr")
    assert marker.read_text() == "exit functions ran"


def test_the_installed_command_exits_with_main_s_code_and_says_why(tmp_path):
    from importlib.metadata import entry_points

    assert entry_points(group="console_scripts")["maestro-deploy"].value == "maestro_deploy.entry:run"
    command = str(ROOT / ".venv/bin/maestro-deploy")
    assert "from maestro_deploy.entry import run" in (ROOT / ".venv/bin/maestro-deploy").read_text()
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  maestro:platform: podman\n")
    result = subprocess.run([command, "check", str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "maestro:platform" in result.stderr and "Traceback" not in result.stderr
    good = subprocess.run([command, "check", "dev"], capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0 and good.stdout.startswith("dev: valid (docker;"), good.stdout
