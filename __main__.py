"""Entry point of the Pulumi program: `pulumi up -s <stack>` runs this file."""

from maestro_deploy.program import main

main()
