"""Projection facts and checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Every projection keeps, per entity it serves (a program, a lease, a party...), pointers to the
events that speak about that entity; the time axes are columns of those events. Reads fold them
at the requested ``as_of``/``known_at``. A rebuild writes a new ``generation`` beside the
live one and then flips
``projection_state.generation`` in one transaction, so reads never go dark.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE projection_state (
            name                text PRIMARY KEY,
            generation          integer NOT NULL DEFAULT 1,
            checkpoint_xid      xid8 NOT NULL DEFAULT '0',
            checkpoint_position bigint NOT NULL DEFAULT 0,
            applied_events      bigint NOT NULL DEFAULT 0,
            status              text NOT NULL DEFAULT 'idle',
            rebuild_requested   boolean NOT NULL DEFAULT false,
            updated_at          timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # A fact row points at an event of the log; the payload stays in `events` (one copy),
    # and the primary key is the read order: an entity's events in log order.
    op.execute(
        """
        CREATE TABLE projection_facts (
            projection  text NOT NULL,
            generation  integer NOT NULL,
            entity      text NOT NULL,
            log_xid     xid8 NOT NULL,
            position    bigint NOT NULL,
            PRIMARY KEY (projection, generation, entity, log_xid, position)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE projection_facts")
    op.execute("DROP TABLE projection_state")
