"""Schema for issue 6 (git push, GitHub connections, webhooks, previews).

Adds the tracked branch per environment, the commit and branch of git deployments, the
``secret`` flag of env vars (previews do not copy secrets), GitHub connections (token and
webhook secret sealed by the keyring), seen webhook delivery ids (replay protection), pending
deployments (wait for CI) and preview environments per pull request.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.add_column(sa.Column("git_branch", sa.String(255), nullable=True))
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("git_commit", sa.String(40), nullable=True))
        batch.add_column(sa.Column("git_branch", sa.String(255), nullable=True))
    with op.batch_alter_table("env_vars") as batch:
        batch.add_column(
            sa.Column("secret", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _create_connections()
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("received_at", _when(), nullable=False),
    )
    _create_pending()
    _create_previews()


def _create_connections() -> None:
    op.create_table(
        "github_connections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("service_id", sa.String(32), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("branch", sa.String(255), nullable=False),
        sa.Column("clone_url", sa.String(500), nullable=False),
        sa.Column("token_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("token_key_id", sa.String(32), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("secret_key_id", sa.String(32), nullable=False),
        sa.Column("wait_for_ci", sa.Boolean(), nullable=False),
        sa.Column("previews", sa.Boolean(), nullable=False),
        sa.Column("preview_secrets", sa.Boolean(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.UniqueConstraint("service_id"),
    )
    op.create_index("ix_github_connections_repo", "github_connections", ["repo"])


def _create_pending() -> None:
    op.create_table(
        "pending_deployments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "connection_id",
            sa.String(32),
            sa.ForeignKey("github_connections.id"),
            nullable=False,
        ),
        sa.Column("commit_sha", sa.String(40), nullable=False),
        sa.Column("before_sha", sa.String(40), nullable=True),
        sa.Column("branch", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("deployment_id", sa.String(32), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
    )
    for column in ("connection_id", "commit_sha", "status"):
        op.create_index(f"ix_pending_deployments_{column}", "pending_deployments", [column])


def _create_previews() -> None:
    op.create_table(
        "previews",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "connection_id",
            sa.String(32),
            sa.ForeignKey("github_connections.id"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("head_sha", sa.String(40), nullable=False),
        sa.Column("environment_id", sa.String(32), nullable=True),
        sa.Column("deployment_id", sa.String(32), nullable=True),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.UniqueConstraint("connection_id", "number"),
    )
    op.create_index("ix_previews_connection_id", "previews", ["connection_id"])


def downgrade() -> None:
    op.drop_table("previews")
    op.drop_table("pending_deployments")
    op.drop_table("webhook_deliveries")
    op.drop_table("github_connections")
    with op.batch_alter_table("env_vars") as batch:
        batch.drop_column("secret")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("git_branch")
        batch.drop_column("git_commit")
    with op.batch_alter_table("environments") as batch:
        batch.drop_column("git_branch")
