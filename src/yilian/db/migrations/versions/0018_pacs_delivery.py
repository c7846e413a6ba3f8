"""Reports into county PACSs (docs/gateway.md): deliveries and their trail; API key scope and report asking.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.PACS_TABLES as of this revision. 0002 creates api_keys from today's
schema, so on a fresh database its two new columns already exist: those statements are no-ops there.
"""

from alembic import op

from yilian.db.schema import PACS_TABLES, metadata

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in PACS_TABLES]


def upgrade() -> None:
    op.execute("ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS scope VARCHAR(16) DEFAULT 'store' NOT NULL")
    op.execute("ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS reports_asked_at TIMESTAMP WITH TIME ZONE")
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
    op.drop_column("api_keys", "reports_asked_at")
    op.drop_column("api_keys", "scope")
