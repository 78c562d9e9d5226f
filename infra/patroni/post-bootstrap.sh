#!/usr/bin/env bash
# Patroni's post_bootstrap hook ($1: a connection string to the new primary): the application's
# own least-privileged role and database, like POSTGRES_USER/POSTGRES_DB in the official image.
set -euo pipefail
psql "$1" -v ON_ERROR_STOP=1 -v user="$APP_DB_USER" -v password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
SQL
psql "$1" -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$APP_DB_NAME\" OWNER \"$APP_DB_USER\""
