"""Notices are a kind plus parameters: notifications.params, and title/body kept only for the rows before it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Rows written before this revision keep their English title and body (the inbox shows them as they were) and get
empty parameters; new rows carry parameters and no text, which the web app and notify/messages.py put into words.
The baseline (0001) creates its tables from today's schema, so on a fresh database the column already exists:
the statements are written to be no-ops there.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE notifications ADD COLUMN IF NOT EXISTS params JSONB NOT NULL DEFAULT '{}'")
    op.execute("ALTER TABLE notifications ALTER COLUMN title DROP NOT NULL")
    op.execute("ALTER TABLE notifications ALTER COLUMN body DROP NOT NULL")


def downgrade() -> None:
    # Rows written since have no text: they keep their kind as the title, which is all 0003's inbox can show.
    op.execute("UPDATE notifications SET title = kind WHERE title IS NULL")
    op.execute("UPDATE notifications SET body = '' WHERE body IS NULL")
    op.execute("ALTER TABLE notifications ALTER COLUMN title SET NOT NULL")
    op.execute("ALTER TABLE notifications ALTER COLUMN body SET NOT NULL")
    op.execute("ALTER TABLE notifications DROP COLUMN params")
