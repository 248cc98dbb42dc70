"""The Pulumi program: a stack's settings become products on a platform, wired by URLs.

`__main__.py` runs `main()` under the Pulumi CLI; `maestro-deploy render` runs the very same
`main()` under Pulumi's mocks. The parts: `main` (config in, outputs out), `build` (the
products, looped over the wiring table), `platform`, `outputs`, `references`, `graph`.
"""

from maestro_deploy.program.build import build, located, with_size_defaults
from maestro_deploy.program.main import main, read_pulumi_config
from maestro_deploy.config.exposure import offered_to
from maestro_deploy.program.platform import ephemeral_labels, make_platform

__all__ = [
    "build",
    "ephemeral_labels",
    "located",
    "main",
    "make_platform",
    "offered_to",
    "read_pulumi_config",
    "with_size_defaults",
]
