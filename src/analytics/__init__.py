"""Web analytics over the event stream (seed 000: data mining of web traffic, streaming challenges).

    producers (gateway, analytics beacons, orders) --XADD--> Redis Stream "analytics:events"
        --XREADGROUP (group "analytics")--> consumer(s) --one Lua script per batch--> aggregates in Redis
        --> read API (/api/analytics/...) and "bought together" on the products API

Modules: `settings` (knobs), `keys` (where every aggregate lives), `sketch` (Count-Min),
`prepare` (user agent parsing, sketch cells: the Python half of a batch), `apply.lua` (the
atomic half), `consumer` (the process), `queries` + `router` + `main` (the read API),
`recommendations` (support/confidence), `batch` (the batch recomputation the tests compare with).
"""
