#!/usr/bin/env bash
# A streaming read replica (seed: "Stage 6: Database Optimization", read replicas).
# First start: clone the primary with pg_basebackup (retrying until the primary accepts).
# Every start: run as a hot standby that follows the primary's WAL stream.
# LISTEN_ADDRESSES / SOCKET_DIR let the native runtime give each cluster its own address.
set -euo pipefail
export PGPASSWORD="$REPLICATION_PASSWORD"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -X stream -c fast -R; do
    echo "replica: waiting for primary $PRIMARY_HOST"
    rm -rf "${PGDATA:?}"/*
    sleep 1
  done
  chmod 700 "$PGDATA"
fi

exec postgres -D "$PGDATA" \
  -c hot_standby=on \
  -c hot_standby_feedback=on \
  -c listen_addresses="${LISTEN_ADDRESSES:-*}" \
  -c unix_socket_directories="${SOCKET_DIR:-/var/run/postgresql}" \
  -c primary_conninfo="host=$PRIMARY_HOST port=5432 user=replicator password=$REPLICATION_PASSWORD application_name=products-db-replica"
