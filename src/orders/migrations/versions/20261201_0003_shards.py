"""shards: each row's hash bucket, the directory (shard map) and each shard's bucket fence

Revision ID: ord0003
Revises: ord0002
Create Date: 2026-12-01 14:00:00

Runs on every shard (the same schema everywhere); `python -m orders.resharding init` fills the
directory on shard 0 and each shard's fence, and gives each shard's id sequences their residue.
"""

from alembic import op
import sqlalchemy as sa

from orders.shard_keys import BUCKET_SQL

revision = 'ord0003'
down_revision = 'ord0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A stored generated column: computed by Postgres on insert, backfilled by this ALTER.
    for table in ('orders', 'idempotency_keys'):
        op.add_column(table, sa.Column('bucket', sa.SmallInteger(), sa.Computed(BUCKET_SQL, persisted=True),
                                       nullable=False))
        op.create_index(f'ix_{table}_bucket', table, ['bucket'])
    op.create_table('shard_buckets',
                    sa.Column('bucket', sa.SmallInteger(), autoincrement=False, nullable=False),
                    sa.Column('shard', sa.SmallInteger(), nullable=False),
                    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_shard_buckets')))
    op.create_table('bucket_ownership',
                    sa.Column('bucket', sa.SmallInteger(), autoincrement=False, nullable=False),
                    sa.Column('owned', sa.Boolean(), nullable=False),
                    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_bucket_ownership')))


def downgrade() -> None:
    op.drop_table('bucket_ownership')
    op.drop_table('shard_buckets')
    for table in ('orders', 'idempotency_keys'):
        op.drop_index(f'ix_{table}_bucket', table_name=table)
        op.drop_column(table, 'bucket')
