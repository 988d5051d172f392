"""Projection change log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Each applied batch records, per entity it touched, the entity's new view (or its deletion) with
a per-projection sequence number, in the same transaction as the facts and the checkpoint. The
sequence is allocated under the checkpoint's row lock, so it commits in order and has no gaps
that fill in later.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE projection_state ADD COLUMN change_seq bigint NOT NULL DEFAULT 0")
    op.execute(
        """
        CREATE TABLE projection_changes (
            projection  text NOT NULL,
            seq         bigint NOT NULL,
            entity      text NOT NULL,
            op          text NOT NULL CHECK (op IN ('upsert', 'delete')),
            row         jsonb,
            position    bigint NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (projection, seq)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE projection_changes")
    op.execute("ALTER TABLE projection_state DROP COLUMN change_seq")
