"""dicom_instances rows stored whole when they fit in a page: an instance's metadata is no longer compressed.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

At PostgreSQL's default toast_tuple_target (about 2 kB) every row longer than that had its longest value, the
instance's DICOM JSON (2.7 kB for the bench's small CT), compressed with pglz before it was written: 12 % of a
backend's CPU samples while indexing one-instance studies (perf, helper `index`), to save 1-2 kB a row. With the
target at its maximum a row is compressed (and if still too long moved to the TOAST table) only when it does not fit
in a page. Rows stored before keep their compressed values, which read back as the same text; a later update of a
row leaves its value as it is stored. 0002 creates the table from today's schema (with the target), and the target
is set here where the table exists without it.
"""

from alembic import op

from yilian.db.schema import TOAST_TUPLE_TARGET

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f"ALTER TABLE dicom_instances SET (toast_tuple_target = {TOAST_TUPLE_TARGET})")


def downgrade() -> None:
    op.execute("ALTER TABLE dicom_instances RESET (toast_tuple_target)")
