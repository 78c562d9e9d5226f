"""Chaos experiments as code (seed: "testing at scale", chaos engineering), run by Chaos Toolkit.

    chaos/experiments/*.json   one experiment per row of the matrix: hypothesis, method, rollbacks
    chaos/actions.py           what a method does: kill/stop/start a component, set/clear a fault flag
    chaos/probes.py            what a hypothesis checks, through nginx: the shop answers, a checkout settles
    chaos/shopper.py           the background shopper placing orders while the experiment runs
    chaos/ledger.py            after recovery: orders lost/stuck, double charges, oversold or leaked stock
    chaos/run.py               `make chaos [EXPERIMENT=kill-queue]`: the matrix, report under reports/chaos/
"""
