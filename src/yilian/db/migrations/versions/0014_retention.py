"""Retention policies, study encounter types, legal holds and the retention audit trail (docs/retention.md).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.RETENTION_TABLES as of this revision.
"""

from alembic import op

from yilian.db.schema import RETENTION_TABLES, metadata

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in RETENTION_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
