"""What every command's exit code means, said once: scripts and CI branch on these."""

EXIT_OK = 0
# A check that found a fault: a test failed, a unit is unhealthy, a teardown left something.
EXIT_FAILED = 1
# Bad input: every problem is said, one `error:` line each, and nothing was changed.
EXIT_INVALID = 2
# Docker, Compose or the Pulumi engine failed, or the stack is not running: the same code as
# bad input, so that a CI step stops; the message says which.
EXIT_INFRASTRUCTURE = 2
# A bug in maestro-deploy: its traceback is printed (through the redaction set), with Python's own
# code for an uncaught exception.
EXIT_BUG = 1
