"""No index on dicom_instances.fixity_checked_at: no query can use it, and every stored instance paid for it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

The fixity sample (db/queries/fixity.py) orders by fixity_checked_at NULLS FIRST, then random(): an ascending index
keeps NULLs last, so PostgreSQL sorts every row (a sequential scan) whether the index is there or not (EXPLAIN on
10,400 instances, before and after 9,000 of them were checked), and no other query filters or orders by the column.
The index only cost each STOW-RS instance an entry, and kept the fixity run's update of the column from being a HOT
update. 0002 creates dicom_instances from today's schema and 0012 adds the index where it is missing, so it is
dropped where it exists.
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

INDEX = "ix_dicom_instances_fixity_checked_at"


def upgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")


def downgrade() -> None:
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON dicom_instances (fixity_checked_at)")
