"""The worklist's open cases in SLA order: a partial index on sla_due_at over the open states (bench/region.py).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A reader's worklist lists their open cases by due time, then their finished ones by recency. With a province's year
of referrals (150,000, 97 % finished) one sort over all of a reader's cases took 1.3 s; the worklist now takes each
part from an index in its order (this one, and ix_referrals_submitted_at) and stops at the page: 7 ms. 0001 creates
the referrals table from today's schema, so on a fresh database the index already exists (IF NOT EXISTS).
"""

from alembic import op
from sqlalchemy.schema import CreateIndex

from yilian.db.schema import OPEN_DUE_INDEX

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(CreateIndex(OPEN_DUE_INDEX, if_not_exists=True))


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {OPEN_DUE_INDEX.name}")
