"""stackctl: runs the docker-compose.yml topology natively, as supervised local processes.

The compose file stays the single source of truth. `compose` loads it (through
`docker-compose config`, which does the interpolation and merging), `translate`
turns each compose service into a native "container" (own loopback address,
rewritten host names and paths), `images` says which Debian binary stands in for
which image, `supervisor` renders supervisord's config, `launch` is what
supervisord runs for a program, and `orchestrate` starts everything in dependency
order while waiting on health checks.
"""
