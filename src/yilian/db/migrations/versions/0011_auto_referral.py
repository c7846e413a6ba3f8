"""Auto-referral: auto_referrals, the decision on each study that arrived under a hosting agreement.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.AUTO_REFERRAL_TABLES as of this revision.
"""

from alembic import op

from yilian.db.schema import AUTO_REFERRAL_TABLES, metadata

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in AUTO_REFERRAL_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
