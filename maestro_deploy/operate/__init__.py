"""Operating a running Docker stack: backup, restore and logs (docs/operations.md).

Every call to Docker goes through maestro_deploy.local, as `compose up` and `status` do."""
