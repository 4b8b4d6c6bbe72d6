"""Persistence: SQLAlchemy models, the database engine, migrations and the durable job queue."""
