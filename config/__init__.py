"""Data, not code: the product catalog and the compatibility matrix. Installed as the package
`maestro_components.config`, so a wheel carries them; this folder is their one source."""
