"""Cloud film savings: the hospital of the doctor behind each access-log row (issue 17's dashboard counts).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

0009 creates film_accesses from today's schema, so on a fresh database the column already exists and the statement
is a no-op there; on a database migrated before, earlier rows keep NULL (their doctor's hospital is only in the
label), so they count toward no hospital's repeats avoided.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE film_accesses ADD COLUMN IF NOT EXISTS viewer_hospital_id VARCHAR(64)")


def downgrade() -> None:
    op.drop_column("film_accesses", "viewer_hospital_id")
