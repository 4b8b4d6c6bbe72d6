"""End-to-end tests use ``kubidu_server`` from tests/conftest.py: a real control plane with a
real Caddy edge, on SQLite or (parametrised indirectly) PostgreSQL."""
