"""Settlement's edge to the banks: the ISO 20022 files payouts leave and come back in.

Plain Python (lxml and xmlschema), no Django: each module takes and returns frozen dataclasses
and bytes, and the services decide what a file means for the payouts.

- :mod:`.iso20022` — the official schemas shipped in ``xsd/``, reading a file safely and
  validating it against its schema.
- :mod:`.pain001` — writes the ``pain.001.001.09`` credit-transfer initiation of a run's payouts.
- :mod:`.pain002` — reads the bank's ``pain.002.001.10`` payment status report.
"""
