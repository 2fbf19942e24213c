"""Development: every FINCORE_* variable has a default that points at localhost services."""

import os

from fincore.settings.base import *  # noqa: F403
from fincore.settings.base import from_environment
from fincore.settings.environment import Environment

DEBUG = os.environ.get("FINCORE_DEBUG", "") == "1"
# A developer's webhook receiver runs on this machine.
os.environ.setdefault("FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "1")

globals().update(from_environment(Environment(os.environ, use_defaults=True)))
