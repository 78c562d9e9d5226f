"""ScaleShop's benchmarks: figures as ratios measured in one run on one machine (`make bench`).

run.py drives the scenarios (scenarios_read.py: 1-3, scenarios_load.py: 4-6) against the
running stack (target.py), with wrk (wrk.py) and, for checkout, Locust; report.py writes
reports/bench/<timestamp>/; capacity.py turns the last report into a capacity plan.
"""
