"""Lectures: their projection and audit trail, registrations, segment views, Q&A, quiz attempts and credits.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.LECTURE_TABLES as of this revision.
"""

from alembic import op

from yilian.db.schema import LECTURE_TABLES, metadata

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in LECTURE_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
