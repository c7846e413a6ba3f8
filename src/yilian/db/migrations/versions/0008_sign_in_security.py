"""Sign-in security: failed sign-ins per account and address, security events, users.token_generation.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Creates the tables named in yilian.db.schema.SECURITY_TABLES as of this revision. The baseline (0001) creates users
from today's schema, so on a fresh database users.token_generation already exists: that statement is a no-op there.
"""

from alembic import op

from yilian.db.schema import SECURITY_TABLES, metadata

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in SECURITY_TABLES]


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN IF NOT EXISTS token_generation INTEGER NOT NULL DEFAULT 0")
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
    op.execute("ALTER TABLE users DROP COLUMN token_generation")
