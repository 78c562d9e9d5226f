#!/usr/bin/env bash
# Runs once, on the first start of a primary (docker-entrypoint-initdb.d, emulated natively):
# a least-privilege role that may only stream WAL, for a read replica to clone and follow.
set -euo pipefail

if [ -n "${REPLICATION_PASSWORD:-}" ]; then
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -v password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
  echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
