"""Scenario 9's load: GETs at a fixed arrival rate from a client that behaves like a browser.

An nginx reload (the algorithm switch) replaces its workers gracefully: requests in flight
finish, and the old workers then close their idle keepalive connections. A request the client
sent on such a connection at that very moment gets no answer (the connection is closed under
it). RFC 9112 section 9.3.1 lets a client retry an idempotent request in exactly that case, and
browsers, curl, Go's net/http and geventhttpclient (Locust's FastHttpUser) do; wrk does not, so
wrk counts a few socket errors per reload that no real user would see. This load therefore
runs on FastHttpUser; a non-2xx answer, a timeout or a connection that fails twice is a failure.

Knobs (environment): BENCH_READ_PATH, BENCH_READ_RATE_PER_USER (requests/s per user);
the figures go to BENCH_READS_OUT as JSON when the run ends.
"""

import json
import os

from locust import FastHttpUser, constant_throughput, events, task

PATH = os.environ.get("BENCH_READ_PATH", "/api/users/whoami")


class Reader(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("BENCH_READ_RATE_PER_USER", "10")))
    network_timeout = 5.0
    connection_timeout = 5.0

    @task
    def read(self) -> None:
        self.client.get(PATH, name=PATH)


@events.quitting.add_listener
def write_figures(environment, **_) -> None:
    total = environment.stats.total
    figures = {
        "requests": total.num_requests, "failures": total.num_failures,
        "rps": total.total_rps, "p50_ms": total.get_response_time_percentile(0.5),
        "p99_ms": total.get_response_time_percentile(0.99),
        "errors": {f"{error.method} {error.name}: {error.error}": error.occurrences
                   for error in environment.stats.errors.values()},
    }
    with open(os.environ["BENCH_READS_OUT"], "w") as output:
        json.dump(figures, output)
    environment.process_exit_code = 0  # the bench reports failures; it does not judge them here
