"""Security primitives: encryption at rest, token and password hashing, the audit chain, and
the unprivileged system accounts that isolate tenants' processes."""
