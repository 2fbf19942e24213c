"""Crash points for the reliability tests: a process told to die at a named point kills itself
there with SIGKILL, as the OOM killer or a pulled plug would, with no chance to clean up.

A test starts a process with ``FINCORE_CRASH_AT=<point>``; nothing else reads the variable, and
a process without it passes every point untouched.
"""

import os
import signal

CRASH_AT = "FINCORE_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
