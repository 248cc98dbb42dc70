"""`pulumi up` runs this: Acme's program."""

from acme_program import main

main()
