"""Connection pooling with pgbouncer: its Prometheus exporter (infra/pgbouncer has the pooler)."""
