"""Fixity: when each instance's blob was last re-hashed, the daily runs and what they found.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.FIXITY_TABLES as of this revision. 0002 creates dicom_instances from
today's schema, so on a fresh database the column and its index already exist: those statements are no-ops there.
"""

from alembic import op

from yilian.db.schema import FIXITY_TABLES, metadata

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in FIXITY_TABLES]


def upgrade() -> None:
    op.execute("ALTER TABLE dicom_instances ADD COLUMN IF NOT EXISTS fixity_checked_at TIMESTAMP WITH TIME ZONE")
    op.execute("CREATE INDEX IF NOT EXISTS ix_dicom_instances_fixity_checked_at ON dicom_instances (fixity_checked_at)")
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
    op.drop_index("ix_dicom_instances_fixity_checked_at", table_name="dicom_instances")
    op.drop_column("dicom_instances", "fixity_checked_at")
