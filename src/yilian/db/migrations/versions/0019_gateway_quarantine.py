"""Gateway quarantine: what each hospital's gateway reports it holds because the cloud refused it (issue 16).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.GATEWAY_TABLES as of this revision.
"""

from alembic import op

from yilian.db.schema import GATEWAY_TABLES, metadata

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in GATEWAY_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
