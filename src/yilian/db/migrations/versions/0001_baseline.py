"""Baseline schema: alliance, users, patients, referral projections, audit, reports, notifications, shares.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

The baseline creates the tables from yilian.db.schema as of this revision. Every later schema change gets
its own explicit revision; tests/integration/test_migrations.py fails if schema.py and the migrated
database drift apart.
"""

from alembic import op

from yilian.db.schema import (
    ADMIN_TABLES,
    CONSULT_TABLES,
    IMAGING_TABLES,
    SEARCH_TABLES,
    SECURITY_TABLES,
    TEACHING_TABLES,
    metadata,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The tables as of this revision: later revisions add theirs, so the baseline must not create them too.
LATER_TABLES = (*IMAGING_TABLES, *ADMIN_TABLES, *CONSULT_TABLES, *TEACHING_TABLES, *SEARCH_TABLES, *SECURITY_TABLES)
BASELINE_TABLES = [table for name, table in metadata.tables.items() if name not in LATER_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=BASELINE_TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=BASELINE_TABLES)
