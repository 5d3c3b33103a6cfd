"""The embedded local cloud: moto's AWS server plus our functions run in-process,
with every resource created from template.yaml. See README "Running it locally"."""
