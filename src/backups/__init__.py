"""Backups of every service database with pgBackRest (seed: "Disaster Recovery & Backup").

The databases archive their WAL into the repository themselves (archive_command); this
package runs in the backup container and does the rest:

    pgbackrest.py  run pgBackRest, read its repository (`info`), the stanzas it knows
    schedule.py    which backup each stanza is due for (full, incremental, none): pure logic
    metrics.py     backup age, size, count and runs as Prometheus metrics (alert: too old)
    scheduler.py   the container's main loop: create stanzas, take due backups, serve metrics
    cli.py         `make backup` and `make restore` (point-in-time recovery) inside the container

Standard library and prometheus-client only, so the backup image stays small.
"""
