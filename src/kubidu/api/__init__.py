"""The JSON HTTP API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``). See docs/api.md."""
