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
