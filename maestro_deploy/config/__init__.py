"""Reading and checking a stack's config: the contract, its validation, the environment it joins."""
