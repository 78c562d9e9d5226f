"""Drills that prove the database survives (seeds: "High Availability: Primary-Standby",
"Disaster Recovery & Backup"), run against a live native stack:

    failover.py  products-db's primary fails (crash, stop, kill, or a planned switchover) under a
                 writer and a reader through nginx: write unavailability, failed reads, lost writes,
                 the old primary rejoining (`make failover-drill`; tests/ha)
    dr.py        the orders database's data directory is destroyed under a stream of orders and
                 restored from pgBackRest: RPO and RTO with a timeline (`make dr-drill`)

Each writes a report under reports/ (JSON for machines, Markdown for people).
"""
