"""Webhooks and their delivery queue.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

A delivery's id is its Standard Webhooks `webhook-id`, stable across retries. Workers claim due
deliveries with FOR UPDATE SKIP LOCKED and a lease (`next_attempt_at` pushed ahead), then call
out of any transaction: a crash mid-delivery only means the lease runs out and it is retried.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webhooks (
            id          uuid PRIMARY KEY,
            url         text NOT NULL,
            projection  text NOT NULL,
            filter      jsonb NOT NULL DEFAULT '{}'::jsonb,
            secret      text NOT NULL,
            status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
            cursor_seq  bigint NOT NULL DEFAULT 0,
            created_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE webhook_deliveries (
            id              uuid PRIMARY KEY,
            webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            seq             bigint NOT NULL,
            payload         jsonb NOT NULL,
            status          text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'dead', 'disabled')),
            attempts        integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_status     integer,
            last_error      text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            delivered_at    timestamptz,
            UNIQUE (webhook_id, seq)
        )
        """
    )
    op.execute(
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) "
        "WHERE status = 'pending'"
    )


def downgrade() -> None:
    op.execute("DROP TABLE webhook_deliveries")
    op.execute("DROP TABLE webhooks")
