"""The application's own role: it may read and append events but never change or delete one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

Migrations run as the schema owner; the service connects as ``accordlog_app``, which owns
nothing, so it cannot ALTER, DROP or TRUNCATE. On ``events`` it holds SELECT and INSERT only: an
UPDATE or DELETE is refused by the grants before the append-only triggers are even reached.

Roles belong to the whole cluster, not one database, so the role is created only when missing
(and a concurrent migration of another database creating it first is not an error). An owner
without CREATEROLE gets a warning instead: an operator can create the role and migrate again.
The role is NOLOGIN here; whoever deploys gives it LOGIN and a password (``accordlog serve``
does so for its embedded server).
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLE = "accordlog_app"
READ_WRITE = (
    "projection_state",
    "projection_facts",
    "projection_changes",
    "webhooks",
    "webhook_deliveries",
)


def upgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                BEGIN
                    CREATE ROLE {ROLE} NOLOGIN;
                EXCEPTION
                    WHEN duplicate_object OR unique_violation THEN NULL;
                    WHEN insufficient_privilege THEN
                        RAISE WARNING 'cannot create role {ROLE}: create it, then migrate again';
                END;
            END IF;
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                EXECUTE format('GRANT CONNECT ON DATABASE %I TO {ROLE}', current_database());
                EXECUTE format('GRANT USAGE ON SCHEMA %I TO {ROLE}', current_schema());
                GRANT SELECT, INSERT ON events TO {ROLE};
                REVOKE UPDATE, DELETE, TRUNCATE ON events FROM {ROLE};
                GRANT SELECT, INSERT, UPDATE ON api_tokens TO {ROLE};
                GRANT SELECT, INSERT, UPDATE, DELETE ON {", ".join(READ_WRITE)} TO {ROLE};
                EXECUTE format(
                    'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO {ROLE}', current_schema()
                );
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                REVOKE ALL ON events, api_tokens, {", ".join(READ_WRITE)} FROM {ROLE};
                EXECUTE format(
                    'REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {ROLE}', current_schema()
                );
                EXECUTE format('REVOKE ALL ON SCHEMA %I FROM {ROLE}', current_schema());
                EXECUTE format('REVOKE ALL ON DATABASE %I FROM {ROLE}', current_database());
            END IF;
        END $$
        """
    )
