"""The lab's health verdicts follow Docker's rules (control/native.py), so both runtimes paint the
same picture: a component is "starting" until its check first passes, stays "healthy" through a
probe or two that time out on a busy machine, and turns "unhealthy" after RETRIES failures in a row."""

from control.native import RETRIES, next_verdict


def run(results: list[bool], previous: str | None = None) -> list[str]:
    verdicts, failures = [], 0
    for passed in results:
        failures = 0 if passed else failures + 1
        previous = next_verdict(previous, passed, failures)
        verdicts.append(previous)
    return verdicts


def test_starting_until_the_first_pass():
    assert run([False, False, True]) == ["starting", "starting", "healthy"]


def test_a_healthy_component_survives_fewer_than_retries_failures():
    assert run([True] + [False] * (RETRIES - 1) + [True]) == ["healthy"] * (RETRIES + 1)


def test_retries_failures_in_a_row_make_it_unhealthy_and_one_pass_heals_it():
    verdicts = run([True] + [False] * RETRIES + [True])
    assert verdicts[RETRIES] == "unhealthy" and verdicts[-1] == "healthy"
    assert run([False] * RETRIES)[-1] == "unhealthy"
