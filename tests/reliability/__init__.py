"""Reliability runs: whole-system checks under faults (``make chaos``: ``tests.reliability.chaos``).

Their modules are not named ``test_*``: pytest does not collect them; each run starts the
services and processes it needs and stops them itself.
"""
