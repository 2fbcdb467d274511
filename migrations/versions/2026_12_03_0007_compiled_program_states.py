"""Compiled DSPy program states: on programs, on the evaluations that scored them, and the best
of a run; DSPy's optimizers as optimization strategies.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUR_STRATEGIES = ("RANDOM", "GRID_SEARCH", "BAYESIAN", "EVOLUTIONARY", "SIMBA")
DSPY_STRATEGIES = ("DSPY_BOOTSTRAP_FEW_SHOT", "DSPY_MIPRO_V2", "DSPY_SIMBA", "DSPY_GEPA")


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _strategy(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(
        *values,
        name="optimization_strategy",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("compiled_state", _json(), nullable=True))
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("program_state", _json(), nullable=True))
    with op.batch_alter_table("optimization_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("best_program_state", _json(), nullable=True))
        batch_op.alter_column(
            "strategy",
            existing_type=_strategy(OUR_STRATEGIES),
            type_=_strategy(OUR_STRATEGIES + DSPY_STRATEGIES),
            existing_nullable=False,
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM optimization_runs WHERE strategy LIKE 'DSPY%'"))
    with op.batch_alter_table("optimization_runs", schema=None) as batch_op:
        batch_op.alter_column(
            "strategy",
            existing_type=_strategy(OUR_STRATEGIES + DSPY_STRATEGIES),
            type_=_strategy(OUR_STRATEGIES),
            existing_nullable=False,
        )
        batch_op.drop_column("best_program_state")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("program_state")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("compiled_state")
