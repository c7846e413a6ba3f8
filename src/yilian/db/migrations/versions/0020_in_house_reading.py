"""In-house reading (本院写片): each hospital's policy for reading its own studies, and referrals without an agreement.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

Creates the tables named in yilian.db.schema.IN_HOUSE_TABLES as of this revision. An in-house case is a referral
whose requesting and reading hospital are the same; its terms come from the policy, so referrals.agreement_id may be
NULL, and only for such a case (ck_referrals_agreement). 0001 creates the referrals table from today's schema, so on
a fresh database the constraint already exists: it is added only where it is missing.
"""

from alembic import op

from yilian.db.schema import IN_HOUSE_TABLES, metadata

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLES = [metadata.tables[name] for name in IN_HOUSE_TABLES]
CHECK = "ck_referrals_agreement"


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)
    op.alter_column("referrals", "agreement_id", nullable=True)
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{CHECK}') THEN
                ALTER TABLE referrals ADD CONSTRAINT {CHECK}
                    CHECK (agreement_id IS NOT NULL OR requesting_hospital_id = reading_hospital_id);
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    # Refused while in-house cases exist (their agreement_id is NULL): they have no agreement to go back to.
    op.execute(f"ALTER TABLE referrals DROP CONSTRAINT IF EXISTS {CHECK}")
    op.alter_column("referrals", "agreement_id", nullable=False)
    metadata.drop_all(op.get_bind(), tables=TABLES)
