#!/bin/sh
# pgbouncer's start: write its auth file from the environment, then become pgbouncer.
# PGBOUNCER_USERS is "user:password user:password ..." (compose: the databases' passwords, whose
# development defaults are refused nowhere here, so override them outside development).
# pgbouncer refuses to run as root: this runs as postgres (the image's user; natively stackctl
# drops to it before exec).
set -eu
umask 077
: > /tmp/userlist.txt
for entry in $PGBOUNCER_USERS; do
  printf '"%s" "%s"\n' "${entry%%:*}" "${entry#*:}" >> /tmp/userlist.txt
done
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
