"""Schema for issue 3 (Docker runtime): CPU and memory limits per service.

The port of an image deployment already has its column (``deployments.port``).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("cpu_limit", sa.Float(), nullable=True))
        batch.add_column(sa.Column("memory_limit_mb", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("memory_limit_mb")
        batch.drop_column("cpu_limit")
