"""Static checks of the Prometheus config and alert rules (seed: monitoring, "Setting Up Alerts").

promtool validates the config and the rules and runs the rules' unit tests
(infra/prometheus/tests); every metric an alert reads must be one the stack exports.
The live test (tests/e2e/test_observability.py) checks the same names in a running Prometheus.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from promql_names import metric_names

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "infra" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))

# The metric contract (chassis/metrics/, worker/metrics.py, services' metrics.py) and the
# exporters' metrics that rules may read.
KNOWN_METRICS = {
    "up", "http_requests_total", "http_request_duration_seconds_bucket", "http_requests_in_flight",
    "upstream_requests_total", "upstream_errors_total", "upstream_retries_total", "circuit_breaker_state",
    "gateway_rate_limited_total", "gateway_auth_failures_total",
    "cache_requests_total", "cache_sets_total", "cache_invalidations_total", "cache_stampede_waits_total",
    "db_pool_connections", "db_query_duration_seconds_bucket", "db_reads_total", "db_replica_lag_bytes",
    "celery_tasks_total", "celery_task_duration_seconds_bucket",
    "pg_up", "pg_replication_lag_bytes", "pg_outbox_backlog", "pg_outbox_oldest_age_seconds",
    "pg_stat_activity_count", "redis_key_size", "redis_up", "nginx_up", "nginx_http_requests_total",
    "analytics_event_lag_seconds_bucket", "analytics_group_lag", "analytics_group_pending", "events_dropped_total",
    "saga_failed_by_timeout_total", "saga_stuck_orders",
    "patroni_primary", "patroni_postgres_timeline", "pgbackrest_backup_age_seconds", "pgbackrest_stanza_ok",
    "pgbouncer_pool_max_wait_seconds",
}



def test_promtool_is_installed():
    """make bootstrap installs it: without it the checks below cannot run, which is a failure, not a skip."""
    assert shutil.which("promtool"), "promtool not installed (make bootstrap)"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd)


def rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def test_config_with_its_rules_passes_promtool_check_config(tmp_path):
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]  # where compose mounts infra/prometheus/rules
    config["rule_files"] = [str(PROMETHEUS / "rules" / "*.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    result = promtool("check", "config", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


def test_rules_pass_promtool_check_rules():
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_their_unit_tests():
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_and_the_documented_alerts_exist():
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    tested = {name for path in RULE_TESTS for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case.get("exp_alerts") for name in [case["alertname"]]}
    assert alerts - tested == set(), "alerts without a firing unit test"
    assert {"HighErrorRate", "HighLatency", "TargetDown", "ServiceDown", "CacheHitRatioLow", "ReplicationLagHigh",
            "QueueBacklogGrowing", "OutboxStuck", "CircuitOpen", "CheckoutErrorBudgetFastBurn",
            "CheckoutErrorBudgetSlowBurn"} <= alerts


def test_every_alert_has_a_severity_summary_and_description():
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_rules_read_only_metrics_the_stack_exports():
    read = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    assert read, "the name extraction found nothing"
    assert read - KNOWN_METRICS == set()


def test_metric_name_extraction():
    expr = ('(sum by (cache) (rate(cache_requests_total{result="hit"}[10m])) or vector(0)) '
            '/ histogram_quantile(0.95, sum by (le) (rate(x_bucket{a=~"$service"}[$__rate_interval]))) '
            '> 16 * 1024 and slo:ratio:rate5m > 0.5 unless on (job) up')
    assert metric_names(expr) == {"cache_requests_total", "x_bucket", "up"}
