"""Importing a bank statement file: every statement in it stored with its lines, or nothing.

The format is told from the content: XML in a camt namespace is read by the camt adapter (after
validating it against its version's official XSD), text with an MT940 ``:20:`` field by the SWIFT
one. Anything else is a bank's CSV, read through a saved column mapping: the one named, else the
nostro's own (or its bank's, by BIC). A CSV names no account, so its nostro is the one chosen or
the mapping's; a CSV with no mapping is refused saying how to give one.
"""

import hashlib

from django.db import transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.reconciliation.adapters.camt import NAMESPACE_PREFIX, camt_parse
from apps.reconciliation.adapters.csv_statement import csv_parse
from apps.reconciliation.adapters.swift import mt940_parse
from apps.reconciliation.data import ParsedStatement, StatementRefused
from apps.reconciliation.exceptions import (
    StatementAccountUnknown,
    StatementCurrencyMismatch,
    StatementDuplicate,
    StatementFormatUnsupported,
    StatementMalformed,
    StatementMappingInvalid,
    StatementMappingMismatch,
    StatementMappingUnknown,
)
from apps.reconciliation.models import BankStatement, BankStatementLine
from apps.reconciliation.selectors import mappings as mapping_selectors
from apps.reconciliation.selectors import statements as selectors
from apps.reconciliation.selectors.mappings import SavedCsvMapping
from apps.reconciliation.services.matching import matching_enqueue
from apps.treasury.data import Nostro

_CAMT_NAMESPACE = (NAMESPACE_PREFIX + "camt.05").encode()


def statement_format_is_text(content: bytes) -> bool:
    """Whether the file reads on its own (camt XML or MT940/MT942), or needs a CSV mapping."""
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") or b":20:" in content


def statement_parse(content: bytes, *, csv: SavedCsvMapping | None = None, account: str = "") -> list[ParsedStatement]:
    """The statements of a file in a format told from its content, or of a CSV read through
    ``csv`` as the statement of ``account``. Raises StatementFormatUnsupported and
    StatementMalformed (with the adapter's line and reason)."""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if csv is not None:
        def parse(content: bytes) -> list[ParsedStatement]:
            return csv_parse(content, csv.mapping, account=account)
    elif head.startswith(b"<"):
        if _CAMT_NAMESPACE not in content:
            raise StatementFormatUnsupported("The file is XML but no camt.053 or camt.054 document "
                                             f"(no {NAMESPACE_PREFIX}camt.05x namespace).")
        parse = camt_parse
    elif b":20:" in content:
        parse = mt940_parse
    else:
        raise StatementFormatUnsupported("The file is neither camt.053/054 XML nor MT940/MT942, and no CSV "
                                         "mapping was given for it: choose the CSV mapping, or the nostro whose "
                                         "mapping (its own, or its bank's) reads it.")
    try:
        statements = parse(content)
    except StatementRefused as refused:
        where = f"line {refused.line}: " if refused.line else ""
        raise StatementMalformed(f"The file was refused, {where}{refused.reason}.", line=refused.line,
                                 reason=refused.reason) from None
    if not statements:
        raise StatementMalformed("The file holds no statement.")
    return statements


def statement_import(*, content: bytes, file_name: str, actor: Actor, nostro_code: str | None = None,
                     mapping_name: str | None = None) -> list[BankStatement]:
    """Store every statement of a camt.053/054, MT940/MT942 or CSV file with its lines, in one
    transaction: all of them or, on any refusal, nothing. Each statement's nostro is ``nostro_code``
    or the nostro whose IBAN is the account the statement names; a CSV's is ``nostro_code`` or its
    mapping's. A CSV is read through the mapping ``mapping_name``, else the nostro's. Raises
    StatementFormatUnsupported, StatementMalformed, StatementAccountUnknown,
    StatementMappingUnknown, StatementMappingMismatch (another nostro's mapping),
    StatementCurrencyMismatch and StatementDuplicate (the same file, or a statement with the same
    id and sequence for the nostro, imported before)."""
    digest = hashlib.sha256(content).hexdigest()
    if (earlier := selectors.file_imported(sha256=digest)) is not None:
        raise StatementDuplicate(f"This file was imported before (as {earlier.file_name!r}, "
                                 f"{earlier.imported_at:%Y-%m-%d %H:%M} UTC by {earlier.imported_by}).",
                                 sha256=digest)
    chosen: Nostro | None = None
    if nostro_code is not None:
        chosen = selectors.nostro(code=nostro_code)
        if chosen is None:
            raise StatementAccountUnknown(f"There is no nostro account {nostro_code!r}.")
    csv = _csv_mapping(content, mapping_name=mapping_name, chosen=chosen)
    if csv is not None and chosen is None:
        chosen = selectors.nostro(code=csv.nostro_code) if csv.nostro_code else None
        if chosen is None:
            raise StatementAccountUnknown(f"A CSV statement names no account, and mapping {csv.name!r} is bank "
                                          f"{csv.bank_bic}'s: choose the nostro it is for.")
    parsed = statement_parse(content, csv=csv, account=chosen.iban if csv is not None and chosen else "")
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
                            "csv_mapping": csv.name if csv is not None else None,
                            "lines": sum(len(statement.lines) for statement, _ in placed),
                            "statement_ids": [f"{row.statement_id} {row.sequence}".strip() for row in stored],
                            "nostros": sorted({nostro.code for _, nostro in placed})})
        matching_enqueue(statements=stored)
    return stored


def _csv_mapping(content: bytes, *, mapping_name: str | None, chosen: Nostro | None) -> SavedCsvMapping | None:
    """The mapping a CSV is read through: the one named (which must be the chosen nostro's, or a
    bank's), else the chosen nostro's; None for a file that reads on its own."""
    try:
        return _csv_mapping_found(content, mapping_name=mapping_name, chosen=chosen)
    except ValueError as unusable:  # a row saved around the admin's checks
        raise StatementMappingInvalid(f"The CSV mapping cannot be used: {unusable}.") from None


def _csv_mapping_found(content: bytes, *, mapping_name: str | None, chosen: Nostro | None) -> SavedCsvMapping | None:
    if mapping_name:
        csv = mapping_selectors.csv_mapping(name=mapping_name)
        if csv is None:
            raise StatementMappingUnknown(f"There is no CSV statement mapping {mapping_name!r}.")
        if chosen is not None and csv.nostro_code and csv.nostro_code != chosen.code:
            raise StatementMappingMismatch(f"CSV mapping {csv.name!r} is nostro {csv.nostro_code}'s, not "
                                           f"{chosen.code}'s.")
        return csv
    if statement_format_is_text(content) or chosen is None:
        return None
    return mapping_selectors.csv_mapping_for_nostro(nostro=chosen)


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
