"""What a pool paid: a decision keeps its claims (`outcomes`) and, when a round's pools shared a budget, what
was paid of each clause (`paid`, canonical JSON [[clause, amount | null], …]; null: paid as claimed).

A new column on an append-only table: ALTER TABLE ADD COLUMN changes no row (every earlier decision reads
null, "paid as claimed", as it was), and its hash covers `paid` only when it is set, so the chain of a
ledger upgraded from 0001 verifies as before.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("paid", sa.Text, nullable=True))
