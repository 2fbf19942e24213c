"""Reconciliation's tables, one module per part: bank statements, the CSV column mappings they are
read through (and the parts the treasury and reconciliation issue adds beside them). Import from
here: ``apps.reconciliation.models``."""

from apps.reconciliation.models.mappings import CsvStatementMapping
from apps.reconciliation.models.statements import BankStatement, BankStatementLine

__all__ = ["BankStatement", "BankStatementLine", "CsvStatementMapping"]
