"""Shared helpers for Kubidu's test suite (ports, waiting, throwaway PostgreSQL, strict mode).

Import them as ``from tests.helpers.ports import free_port`` (the repository root is put on
``sys.path`` by ``tests/conftest.py``). Helpers here are plain functions and classes with no
module-level state, so they are safe to use from any test or fixture.
"""
