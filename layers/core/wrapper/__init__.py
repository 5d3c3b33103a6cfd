"""Wrapper's domain layer: the package every function imports from the Lambda layer."""

__version__ = "0.1.0"
