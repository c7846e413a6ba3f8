"""Imaging archive index (studies, series, instances) and hospital API keys for gateways.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Creates the tables named in yilian.db.schema.IMAGING_TABLES as of this revision; a later change to them
gets its own revision (the drift test in tests/integration/test_migrations.py holds us to it).
"""

from alembic import op

from yilian.db.schema import IMAGING_TABLES, metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in IMAGING_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
