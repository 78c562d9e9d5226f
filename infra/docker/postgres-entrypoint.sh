#!/usr/bin/env bash
# First start of a Postgres container, with the official image's semantics (the native runtime
# emulates the same steps in src/stackctl/launch.py): when $PGDATA holds no cluster yet, initdb
# with POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sh
# and *.sql against a server reachable only through its socket, stop it; then exec the server.
# Runs as the `postgres` user (the image's USER): nothing here needs root.
set -euo pipefail

if [ "${1:0:1}" = "-" ]; then
  set -- postgres "$@"  # only flags given: they are the server's
fi

if [ "$1" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set for the first start}"
  user="${POSTGRES_USER:-postgres}"
  database="${POSTGRES_DB:-$user}"

  initdb -D "$PGDATA" -U "$user" --pwfile=<(printf '%s' "$POSTGRES_PASSWORD") -E UTF8 \
         --auth-host=scram-sha-256 --auth-local=trust
  # Other containers connect over the compose network: password logins from any address.
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"

  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
  export PGUSER="$user"
  if [ "$database" != "postgres" ]; then
    psql -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE \"$database\""
  fi
  export PGDATABASE="$database" POSTGRES_USER="$user" POSTGRES_DB="$database"
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sh) echo "initdb: running $script"; bash "$script" ;;
      *.sql) echo "initdb: running $script"; psql -v ON_ERROR_STOP=1 -f "$script" ;;
      *) ;;  # an empty directory leaves the literal pattern
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "initdb: first start done, starting the server"
fi

exec "$@"
