"""Settings per environment: ``development`` (the default), ``test`` and ``production``.

Every value that differs between machines comes from a ``FINCORE_*`` environment variable,
read by :mod:`fincore.settings.environment`.
"""
