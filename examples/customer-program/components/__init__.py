"""Acme's own components: a local package named `components`, as Pulumi's examples name theirs.
Maestro's library is `maestro_components`, so neither shadows the other."""
