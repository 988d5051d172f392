"""API tokens, stored as SHA-256 hashes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_tokens (
            id          uuid PRIMARY KEY,
            name        text NOT NULL,
            scopes      text[] NOT NULL,
            token_hash  bytea NOT NULL UNIQUE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            revoked_at  timestamptz
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE api_tokens")
