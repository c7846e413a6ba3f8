"""Teaching cases: the projection, its audit events and curation versions, the de-identification diff, proposals,
follow-ups, unknown-case attempts, views and collections.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Creates the tables named in yilian.db.schema.TEACHING_TABLES as of this revision; a later change to them gets its
own revision (the drift test in tests/integration/test_migrations.py holds us to it).
"""

from alembic import op

from yilian.db.schema import TEACHING_TABLES, metadata

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in TEACHING_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
