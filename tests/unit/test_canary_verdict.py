"""The canary's verdict (stackctl/deploy.py): the rules that decide a rollback, on the figures
Prometheus gives for the canary and the baseline over a step."""

from stackctl.deploy import Thresholds, verdict

RULES = Thresholds()


def figures(requests: float, error_rate: float | None, p95: float | None) -> dict:
    return {"requests": requests, "error_rate": error_rate, "p95_seconds": p95}


def test_a_canary_failing_more_than_its_baseline_is_rolled_back():
    reason = verdict(figures(6, 1.0, 0.002), figures(160, 0.0, 0.245), RULES)
    assert reason and reason.startswith("error rate 100.0%")


def test_a_canary_as_good_as_its_baseline_passes_even_on_a_noisy_machine():
    assert verdict(figures(50, 0.01, 0.4), figures(100, 0.0, 0.3), RULES) is None  # within 2 points, 2x + 0.25 s


def test_a_slow_canary_is_rolled_back_on_its_p95():
    reason = verdict(figures(50, 0.0, 1.2), figures(100, 0.0, 0.3), RULES)
    assert reason and reason.startswith("p95 1.200s")


def test_too_few_canary_requests_are_no_verdict_yet():
    assert verdict(figures(2, 1.0, 5.0), figures(100, 0.0, 0.3), RULES) is None
    assert verdict(figures(10, 0.0, 5.0), figures(100, 0.0, 0.3), RULES) is None  # p95 of 10: not yet
    assert verdict(figures(3, 1.0, 0.01), figures(100, 0.0, 0.3), RULES)  # 3 of 3 failing: a verdict


def test_a_baseline_without_requests_counts_as_error_free():
    assert verdict(figures(20, 0.5, 0.1), figures(0, None, None), RULES)
