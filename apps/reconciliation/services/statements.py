"""Importing a bank statement file: every statement in it stored with its lines, or nothing.

The format is told from the content: XML in a camt namespace is read by the camt adapter, text
with an MT940 ``:20:`` field by the SWIFT one. A bank's CSV needs its saved column mapping, which
fincore has no place for yet: a CSV file is refused saying so.
"""

import hashlib

from django.db import transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.reconciliation.adapters.camt import NAMESPACE_PREFIX, camt_parse
from apps.reconciliation.adapters.swift import mt940_parse
from apps.reconciliation.data import ParsedStatement, StatementRefused
from apps.reconciliation.exceptions import (
    StatementAccountUnknown,
    StatementCurrencyMismatch,
    StatementDuplicate,
    StatementFormatUnsupported,
    StatementMalformed,
)
from apps.reconciliation.models import BankStatement, BankStatementLine
from apps.reconciliation.selectors import statements as selectors
from apps.reconciliation.services.matching import matching_enqueue
from apps.treasury.data import Nostro

_CAMT_NAMESPACE = (NAMESPACE_PREFIX + "camt.05").encode()


def statement_parse(content: bytes) -> list[ParsedStatement]:
    """The statements of a file in a format told from its content. Raises StatementFormatUnsupported
    and StatementMalformed (with the adapter's line and reason)."""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if _CAMT_NAMESPACE not in content:
            raise StatementFormatUnsupported("The file is XML but no camt.053 or camt.054 document "
                                             f"(no {NAMESPACE_PREFIX}camt.05x namespace).")
        parse = camt_parse
    elif b":20:" in content:
        parse = mt940_parse
    else:
        raise StatementFormatUnsupported("The file is neither camt.053/054 XML nor MT940/MT942. A bank's CSV "
                                         "statement needs its saved column mapping, which cannot be imported yet.")
    try:
        statements = parse(content)
    except StatementRefused as refused:
        where = f"line {refused.line}: " if refused.line else ""
        raise StatementMalformed(f"The file was refused, {where}{refused.reason}.", line=refused.line,
                                 reason=refused.reason) from None
    if not statements:
        raise StatementMalformed("The file holds no statement.")
    return statements


def statement_import(*, content: bytes, file_name: str, actor: Actor,
                     nostro_code: str | None = None) -> list[BankStatement]:
    """Store every statement of a camt.053/054 or MT940/MT942 file with its lines, in one
    transaction: all of them or, on any refusal, nothing. Each statement's nostro is ``nostro_code``
    or the nostro whose IBAN is the account the statement names. Raises StatementFormatUnsupported,
    StatementMalformed, StatementAccountUnknown, StatementCurrencyMismatch and StatementDuplicate
    (the same file, or a statement with the same id and sequence for the nostro, imported before)."""
    digest = hashlib.sha256(content).hexdigest()
    if (earlier := selectors.file_imported(sha256=digest)) is not None:
        raise StatementDuplicate(f"This file was imported before (as {earlier.file_name!r}, "
                                 f"{earlier.imported_at:%Y-%m-%d %H:%M} UTC by {earlier.imported_by}).")
    parsed = statement_parse(content)
    chosen: Nostro | None = None
    if nostro_code is not None:
        chosen = selectors.nostro(code=nostro_code)
        if chosen is None:
            raise StatementAccountUnknown(f"There is no nostro account {nostro_code!r}.")
    placed: list[tuple[ParsedStatement, Nostro]] = []
    seen: set[tuple[str, str, str]] = set()
    for statement in parsed:
        nostro = chosen or selectors.nostro_by_iban(account=statement.account)
        if nostro is None:
            raise StatementAccountUnknown(f"Statement {statement.statement_id!r} is for account "
                                          f"{statement.account!r}, which is no nostro's IBAN: name the nostro "
                                          "or add the account.", account=statement.account)
        _currencies_check(statement, nostro)
        key = (nostro.code, statement.statement_id, statement.sequence)
        if key in seen or selectors.statement_imported(nostro_code=nostro.code, statement_id=statement.statement_id,
                                                       sequence=statement.sequence):
            raise StatementDuplicate(f"Statement {statement.statement_id!r} sequence {statement.sequence!r} of "
                                     f"{nostro.code} was imported before.")
        seen.add(key)
        placed.append((statement, nostro))
    now = clock.now()
    stored = []
    with transaction.atomic(durable=True):
        for index, (statement, nostro) in enumerate(placed):
            stored.append(_statement_store(statement, nostro, index=index, content=content, file_name=file_name,
                                           digest=digest, now=now, actor=actor))
        audit_record(actor=actor, action="reconciliation.statement_imported",
                     object_type="reconciliation.bankstatement", object_id=str(stored[0].pk),
                     after={"file_name": file_name, "sha256": digest, "statements": len(stored),
                            "lines": sum(len(statement.lines) for statement, _ in placed),
                            "statement_ids": [f"{row.statement_id} {row.sequence}".strip() for row in stored],
                            "nostros": sorted({nostro.code for _, nostro in placed})})
        matching_enqueue(statements=stored)
    return stored


def _currencies_check(statement: ParsedStatement, nostro: Nostro) -> None:
    if statement.currency != nostro.currency:
        raise StatementCurrencyMismatch(f"Statement {statement.statement_id!r} is in {statement.currency}, "
                                        f"nostro {nostro.code} in {nostro.currency}.")
    for name, balance in (("opening", statement.opening_balance), ("closing", statement.closing_balance)):
        if balance is not None and balance.currency != nostro.currency:
            raise StatementCurrencyMismatch(f"Statement {statement.statement_id!r} gives its {name} balance in "
                                            f"{balance.currency}, not {nostro.currency}.")
    for position, line in enumerate(statement.lines, start=1):
        if line.currency != nostro.currency:
            raise StatementCurrencyMismatch(f"Line {position} of statement {statement.statement_id!r} is in "
                                            f"{line.currency}, not {nostro.currency}.")
        if line.amount == 0:
            raise StatementMalformed(f"Line {position} of statement {statement.statement_id!r} moves no money.")


def _statement_store(statement: ParsedStatement, nostro: Nostro, *, index: int, content: bytes,
                     file_name: str, digest: str, now, actor: Actor) -> BankStatement:
    opening, closing = statement.opening_balance, statement.closing_balance
    row = BankStatement.objects.create(
        nostro_id=nostro.code, format=statement.format, version=statement.version, statement_id=statement.statement_id,
        sequence=statement.sequence, account=statement.account, currency=statement.currency,
        opening_balance=opening.amount if opening else None, opening_date=opening.on if opening else None,
        closing_balance=closing.amount if closing else None, closing_date=closing.on if closing else None,
        created_at=statement.created_at, file_name=file_name[:255], file_index=index, sha256=digest,
        content=content, imported_at=now, imported_by=actor.label)
    BankStatementLine.objects.bulk_create(
        BankStatementLine(statement=row, position=position, amount=line.amount, currency=line.currency,
                          booking_date=line.booking_date, value_date=line.value_date, reference=line.reference,
                          end_to_end_id=line.end_to_end_id, bank_reference=line.bank_reference,
                          counterparty_name=line.counterparty_name, counterparty_account=line.counterparty_account,
                          description=line.description)
        for position, line in enumerate(statement.lines, start=1))
    return row
