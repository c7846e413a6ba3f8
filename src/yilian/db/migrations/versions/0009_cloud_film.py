"""Regional cloud film: the regional patient index, patients' phone sign-in, QR grants, consent and the access log.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.CLOUD_FILM_TABLES as of this revision.
"""

from alembic import op

from yilian.db.schema import CLOUD_FILM_TABLES, metadata

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in CLOUD_FILM_TABLES]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)
