"""Administration: the admin_changes log of every change made through the admin API.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Creates the tables named in yilian.db.schema.ADMIN_TABLES as of this revision; a later change to them
gets its own revision (the drift test in tests/integration/test_migrations.py holds us to it).
"""

from alembic import op

from yilian.db.schema import ADMIN_TABLES, metadata

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in ADMIN_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
