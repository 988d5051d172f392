"""The append-only event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE events (
            position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            -- The writing transaction's id: readers order by (transaction_id, position) and stop
            -- below the oldest running transaction, so a late commit is never skipped.
            transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
            id              uuid NOT NULL,
            stream          text NOT NULL CHECK (length(stream) BETWEEN 1 AND 200),
            version         integer NOT NULL CHECK (version >= 1),
            type            text NOT NULL,
            schema_version  smallint NOT NULL DEFAULT 1,
            effective       text NOT NULL,
            effective_lower date,
            effective_upper date,
            effective_window daterange
                GENERATED ALWAYS AS (daterange(effective_lower, effective_upper, '[]')) STORED,
            reported_on     date NOT NULL,
            recorded_at     timestamptz NOT NULL DEFAULT now(),
            corrects        uuid,
            data            jsonb NOT NULL,
            metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
            digest          bytea NOT NULL,
            CONSTRAINT events_id_key UNIQUE (id),
            CONSTRAINT events_stream_version_key UNIQUE (stream, version)
        )
        """
    )
    op.execute("CREATE INDEX events_log_order ON events (transaction_id, position)")
    op.execute("CREATE INDEX events_type_order ON events (type, transaction_id, position)")
    op.execute(
        """
        CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events are append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_refuse_change()
        """
    )
    op.execute(
        """
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()
        """
    )
    op.execute(
        """
        CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('accordlog_events', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER events_notify AFTER INSERT ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_notify()
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE events")
    op.execute("DROP FUNCTION events_refuse_change()")
    op.execute("DROP FUNCTION events_notify()")
