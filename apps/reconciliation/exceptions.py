"""Reconciliation's refusals (problem codes for the admin, the command and a future API)."""

from apps.core.exceptions import FincoreError


class StatementMalformed(FincoreError):
    code = "statement_malformed"
    title = "The statement file cannot be read"
    status = 400


class StatementFormatUnsupported(FincoreError):
    code = "statement_format_unsupported"
    title = "The statement file is in no format fincore reads on its own"
    status = 400


class StatementAccountUnknown(FincoreError):
    code = "statement_account_unknown"
    title = "The statement is for an account that is no nostro of fincore"
    status = 404


class StatementCurrencyMismatch(FincoreError):
    code = "statement_currency_mismatch"
    title = "The statement's currency is not its nostro's"
    status = 409


class StatementDuplicate(FincoreError):
    code = "statement_duplicate"
    title = "The statement was imported before"
    status = 409


class StatementMappingUnknown(FincoreError):
    code = "statement_mapping_unknown"
    title = "There is no such CSV statement mapping"
    status = 404


class StatementMappingMismatch(FincoreError):
    code = "statement_mapping_mismatch"
    title = "The CSV statement mapping is another nostro's"
    status = 409


class StatementMappingInvalid(FincoreError):
    code = "statement_mapping_invalid"
    title = "The CSV statement mapping cannot read a file"
    status = 400


class BreakNotFound(FincoreError):
    code = "break_not_found"
    title = "There is no such break"
    status = 404


class BreakResolved(FincoreError):
    code = "break_resolved"
    title = "The break is resolved already"
    status = 409


class InvalidBreakWork(FincoreError):
    code = "invalid_break_work"
    title = "The break cannot be worked so"
    status = 400


class LinkRefused(FincoreError):
    code = "link_refused"
    title = "These statement lines and expectations cannot be linked"
    status = 409


class StatementNotProvable(FincoreError):
    code = "statement_not_provable"
    title = "The statement has no closing balance to prove the books against"
    status = 409
