"""Kubidu: a self-hostable Platform-as-a-Service.

The package is layered as ARCHITECTURE.md describes (core → infrastructure → adapters →
services → control → entry points); import-linter contracts in pyproject.toml keep it so.
"""

__version__ = "0.1.0"
