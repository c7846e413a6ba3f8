"""Quality audit sampling: quality_audits, their sampled studies and their events.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.QUALITY_AUDIT_TABLES as of this revision.
"""

from alembic import op

from yilian.db.schema import QUALITY_AUDIT_TABLES, metadata

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in QUALITY_AUDIT_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
