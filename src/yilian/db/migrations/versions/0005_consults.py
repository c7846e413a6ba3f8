"""MDT consults: their projection, cases, invitees, audit trail, attendance, chat and live rooms; users.specialty.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Creates the tables named in yilian.db.schema.CONSULT_TABLES as of this revision. The baseline (0001) creates users
from today's schema, so on a fresh database users.specialty already exists: that statement is a no-op there.
"""

from alembic import op

from yilian.db.schema import CONSULT_TABLES, metadata

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in CONSULT_TABLES]


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN IF NOT EXISTS specialty VARCHAR(64) NOT NULL DEFAULT ''")
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
    op.execute("ALTER TABLE users DROP COLUMN specialty")
