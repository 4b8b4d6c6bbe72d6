"""The log store: every line of builds and replicas, searchable, retained, capped, followable.

``model`` holds the value types and the :class:`~kubidu.logs.model.LogStore` interface; ``db``
the embedded implementation on the control-plane database; ``hub`` the in-memory fan-out
that gives live followers new lines without polling; ``limiter`` the per-service cap that
drops excess lines with a visible marker.
"""
