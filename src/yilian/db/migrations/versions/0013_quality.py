"""Image quality control: quality_grades, the reader's grade of each referral's study.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.QUALITY_TABLES as of this revision.
"""

from alembic import op

from yilian.db.schema import QUALITY_TABLES, metadata

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in QUALITY_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
