"""The learning loop: model versions, jobs, outcomes, retrain policies; decisions record the
model version they used.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _city() -> sa.Column[int]:
    return sa.Column("city_id", sa.Integer(), sa.ForeignKey("cities.id", ondelete="CASCADE"),
                     nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("model_version_id", sa.Integer(), nullable=True))
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _city(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("forecaster", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("checkpoint", sa.LargeBinary(), nullable=False),
        sa.Column("checkpoint_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("city_id", "version"),
    )
    op.create_index("ux_model_versions_active", "model_versions", ["city_id"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _city(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_jobs_city_id", "jobs", ["city_id"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("decision_id", BigId, sa.ForeignKey("decisions.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        _city(),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("realized", sa.JSON(), nullable=False),
        sa.Column("regret", sa.Float(), nullable=False),
        sa.Column("oracle_objective", sa.Float(), nullable=False),
        sa.Column("normalized_regret", sa.Float(), nullable=False),
        sa.Column("hit_rate", sa.Float(), nullable=True),
        sa.Column("pai", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_outcomes_city_id", "outcomes", ["city_id"])
    op.create_table(
        "retrain_policies",
        sa.Column("city_id", sa.Integer(), sa.ForeignKey("cities.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("every", sa.Integer(), nullable=True),
        sa.Column("drift", sa.Float(), nullable=True),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("job", sa.JSON(), nullable=False),
        sa.Column("outcomes_at_last", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in ("retrain_policies", "outcomes", "jobs", "model_versions"):
        op.drop_table(table)
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("model_version_id")
