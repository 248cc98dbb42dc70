"""The program run offline under Pulumi's mocks: render, the Compose export, stack outputs."""
