"""Report search: the search_events log of every search (who, what, how many found).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Creates the tables named in yilian.db.schema.SEARCH_TABLES as of this revision; a later change to them gets its
own revision (the drift test in tests/integration/test_migrations.py holds us to it).
"""

from alembic import op

from yilian.db.schema import SEARCH_TABLES, metadata

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in SEARCH_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
