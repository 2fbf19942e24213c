"""Reconciliation's tables, one module per part: bank statements and the CSV mappings that read
them, expectations and their matches, and breaks. Import from here: ``apps.reconciliation.models``."""

from apps.reconciliation.models.breaks import Break, BreakComment, BreakKind, BreakResolution, BreakStatus
from apps.reconciliation.models.mappings import CsvStatementMapping
from apps.reconciliation.models.matching import (
    Cardinality,
    Expectation,
    ExpectationSource,
    ExpectationState,
    Match,
    MatchExpectation,
    MatchingRule,
    MatchKind,
    MatchLine,
)
from apps.reconciliation.models.proofs import BalanceProof, ProofStatus
from apps.reconciliation.models.statements import BankStatement, BankStatementLine

__all__ = [
    "BalanceProof", "BankStatement", "BankStatementLine", "Break", "BreakComment", "BreakKind", "BreakResolution",
    "BreakStatus", "Cardinality", "CsvStatementMapping", "Expectation", "ExpectationSource", "ExpectationState",
    "Match", "MatchExpectation", "MatchKind", "MatchLine", "MatchingRule", "ProofStatus",
]
