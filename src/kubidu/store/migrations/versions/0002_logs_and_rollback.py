"""Schema for issue 5: the searchable log store, and rollback bookkeeping on deployments.

``log_entries`` replaces ``log_lines`` (build lines only) and holds every line of builds and
replicas. Search is a case-insensitive substring match, accelerated by an FTS5 trigram index
on SQLite and a pg_trgm GIN index on PostgreSQL (when the extension can be created).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE log_entries_fts USING fts5("
    "line, content='log_entries', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER log_entries_ai AFTER INSERT ON log_entries BEGIN "
    "INSERT INTO log_entries_fts(rowid, line) VALUES (new.id, new.line); END",
    "CREATE TRIGGER log_entries_ad AFTER DELETE ON log_entries BEGIN "
    "INSERT INTO log_entries_fts(log_entries_fts, rowid, line) "
    "VALUES ('delete', old.id, old.line); END",
]


def upgrade() -> None:
    op.drop_index("ix_log_lines_deployment_id", table_name="log_lines")
    op.drop_table("log_lines")
    op.create_table(
        "log_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=True),
        sa.Column("replica", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_log_entries_service_id_id", "log_entries", ["service_id", "id"])
    op.create_index("ix_log_entries_deployment_id_id", "log_entries", ["deployment_id", "id"])
    op.create_index("ix_log_entries_at", "log_entries", ["at"])
    _search_index()
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(
            sa.Column("trigger", sa.String(length=16), nullable=False, server_default="deploy")
        )
        batch.add_column(
            sa.Column("artifact_pruned", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def _search_index() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    elif bind.dialect.name == "postgresql" and _pg_trgm_available(bind):
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_log_entries_line_trgm ON log_entries USING gin (line gin_trgm_ops)"
        )


def _pg_trgm_available(bind: sa.engine.Connection) -> bool:
    query = sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    return bind.execute(query).first() is not None


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("artifact_pruned")
        batch.drop_column("trigger")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS log_entries_fts")
    op.drop_table("log_entries")
    op.create_table(
        "log_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_log_lines_deployment_id", "log_lines", ["deployment_id"])
