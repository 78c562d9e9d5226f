"""Load shapes selectable by name (seed: "Testing at Scale", types of testing and the k6 example).

A shape is a list of stages `(until_second, users, spawn_rate)`, scaled to the run's
size: `users` (N) and `duration` (seconds), taken from `--shape-users/--shape-duration`
(env LOAD_USERS, LOAD_DURATION). The run stops when the last stage ends.

- steady: ramp up to N, hold (a load test: expected traffic, baselines).
- ramp:   the seed's k6 stages scaled to the duration: up to N, hold, up to 2N, hold, down.
- spike:  hold N, jump to 3N almost at once (Black Friday), drop back, watch the recovery.
- soak:   N for a long time (endurance: leaks, connection exhaustion, cache behaviour).

Plain arithmetic (no Locust import), so it is unit-tested without monkey-patching the
test process; locustfile.py's ShopShape plays the stages.
"""

Stage = tuple[float, int, float]  # (until this second of the run, target users, users started/stopped per second)


def steady_stages(users: int, duration: float) -> list[Stage]:
    ramp = max(duration * 0.1, 1.0)
    return [(duration, users, max(users / ramp, 1.0))]


def ramp_stages(users: int, duration: float) -> list[Stage]:
    # The seed: 2 min up to 100, 5 min at 100, 2 min up to 200, 5 min at 200, 2 min down (16 min).
    unit = duration / 16
    plan = [(2, users), (5, users), (2, 2 * users), (5, 2 * users), (2, 0)]
    stages, elapsed, current = [], 0.0, 0
    for minutes, target in plan:
        elapsed += minutes * unit
        rate = abs(target - current) / (minutes * unit) if target != current else 1.0
        stages.append((elapsed, target, max(rate, 1.0)))
        current = target
    return stages


def spike_stages(users: int, duration: float) -> list[Stage]:
    warm = max(users / max(duration * 0.1, 1.0), 1.0)
    return [
        (duration * 0.3, users, warm),           # normal traffic
        (duration * 0.5, 3 * users, 2 * users),  # the spike: 2N more users within half a second
        (duration, users, 2 * users),            # back to normal: does latency recover?
    ]


def soak_stages(users: int, duration: float) -> list[Stage]:
    ramp = max(duration * 0.05, 1.0)
    return [(duration, users, max(users / ramp, 1.0))]


SHAPES = {"steady": steady_stages, "ramp": ramp_stages, "spike": spike_stages, "soak": soak_stages}
DEFAULT_DURATION = {"steady": 60.0, "ramp": 160.0, "spike": 90.0, "soak": 3600.0}


def target_at(stages: list[Stage], run_time: float) -> tuple[int, float] | None:
    """The (users, spawn_rate) a shape asks for at `run_time`, or None once it is over."""
    for until, users, rate in stages:
        if run_time < until:
            return users, rate
    return None
