"""The suspicious transaction report (STR) of a case, in goAML's XML structure.

goAML (UNODC) is the reporting system of the Gulf financial intelligence units, Bahrain's among
them. Its official XSD is handed by each FIU to its reporting entities and is not publicly
available, so ``goaml_str.xsd`` beside this module is a faithful subset written from goAML's
published schema documentation: the ``report`` element with the reporting entity, submission,
reporting person, reason and action, then the transactions (or, without any, the activity and its
report parties), then the indicators. Every report is validated against it before it is stored.

Plain Python and lxml: the case service hands in what the report says.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from lxml import etree

from apps.core.money import Money

SCHEMA_PATH = Path(__file__).with_name("goaml_str.xsd")
# The currency the FIU's reports are in.
LOCAL_CURRENCY = "BHD"
# goAML's lookup codes fincore uses: funds by card or account transfer, electronic transfer mode.
FUNDS_CODE = {"payment": "K", "refund": "K", "payout": "A", "transfer": "A"}
TRANSMODE_CODE = "E"


class StrInvalid(ValueError):
    """The report does not validate against the schema (a bug: a report is never stored so)."""


@dataclass(frozen=True, slots=True)
class StrTransaction:
    number: str  # the payment's, payout's or transfer's public id
    kind: str  # payment, refund, payout, transfer
    occurred_at: datetime
    amount: int  # minor units
    currency: str
    counterparty: str = ""
    iban: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class StrContent:
    reporting_entity_id: str  # the id the FIU gave the institution in goAML (FINCORE_GOAML_REPORTING_ENTITY_ID)
    reference: str  # the case's public id
    submitted_at: datetime
    officer_first_name: str
    officer_last_name: str
    officer_email: str
    subject_name: str
    subject_country: str
    reason: str  # why the activity is suspicious: the officer's words
    action: str  # what fincore did (freezes, suspension)
    indicators: tuple[str, ...]  # the rules that raised the case's alerts
    transactions: tuple[StrTransaction, ...]


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def _add(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _party(parent: etree._Element, tag: str, *, funds_code: str, name: str, iban: str, country: str,
           currency: str) -> None:
    party = _add(parent, tag)
    _add(party, "funds_code", funds_code)
    if iban:
        account = _add(party, "account")
        _add(account, "institution_name", name or "Unknown")
        _add(account, "account", iban)
        _add(account, "currency_code", currency)
        _add(account, "iban", iban)
    else:
        entity = _add(party, "entity")
        _add(entity, "name", name or "Unknown")
    if country:
        _add(party, "country", country)


def str_xml(content: StrContent) -> bytes:
    """The report as UTF-8 XML, validated (raises StrInvalid otherwise)."""
    report = etree.Element("report")
    _add(report, "rentity_id", content.reporting_entity_id)
    _add(report, "submission_code", "E")
    _add(report, "report_code", "STR")
    _add(report, "entity_reference", content.reference)
    _add(report, "submission_date", content.submitted_at.isoformat(timespec="seconds"))
    _add(report, "currency_code_local", LOCAL_CURRENCY)
    person = _add(report, "reporting_person")
    _add(person, "first_name", content.officer_first_name or "-")
    _add(person, "last_name", content.officer_last_name or "-")
    if content.officer_email:
        _add(person, "email", content.officer_email)
    _add(report, "reason", content.reason[:4000])
    _add(report, "action", content.action[:4000])
    if content.transactions:
        for transaction in content.transactions:
            element = _add(report, "transaction")
            _add(element, "transactionnumber", transaction.number)
            _add(element, "transaction_description", f"{transaction.kind.capitalize()} of {content.subject_name}")
            _add(element, "date_transaction", transaction.occurred_at.isoformat(timespec="seconds"))
            _add(element, "transmode_code", TRANSMODE_CODE)
            _add(element, "amount_local", Money(transaction.amount, transaction.currency).to_major_str())
            _add(element, "currency_code", transaction.currency)
            funds = FUNDS_CODE.get(transaction.kind, "A")
            ours = {"funds_code": funds, "name": content.subject_name, "iban": "", "country": content.subject_country,
                    "currency": transaction.currency}
            theirs = {"funds_code": funds, "name": transaction.counterparty, "iban": transaction.iban,
                      "country": transaction.country, "currency": transaction.currency}
            # Money into the merchant (a payment) comes from the counterparty; out of it, goes to them.
            incoming = transaction.kind == "payment"
            _party(element, "t_from_my_client", **(theirs if incoming else ours))
            _party(element, "t_to_my_client", **(ours if incoming else theirs))
    else:
        parties = _add(_add(report, "activity"), "report_parties")
        party = _add(parties, "report_party")
        entity = _add(party, "entity")
        _add(entity, "name", content.subject_name)
        if content.subject_country:
            _add(entity, "incorporation_country_code", content.subject_country)
        _add(party, "reason", content.reason[:4000])
    indicators = _add(report, "report_indicators")
    for indicator in content.indicators or ("fincore_case",):
        _add(indicators, "indicator", indicator[:50])
    xml = etree.tostring(report, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    str_validate(xml)
    return xml


def str_validate(xml: bytes) -> None:
    """Raises StrInvalid, naming the first error, unless ``xml`` validates against the schema."""
    schema = _schema()
    try:
        document = etree.fromstring(xml)
    except etree.XMLSyntaxError as malformed:
        raise StrInvalid(str(malformed)) from malformed
    if not schema.validate(document):
        raise StrInvalid(str(schema.error_log.last_error))
