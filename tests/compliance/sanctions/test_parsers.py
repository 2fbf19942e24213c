"""The three list formats, read from hand-written files in the published shapes (the UN's
sc-sanctions.xsd, OFAC's sdn.xml, the national CSV), and the refusals with line and reason."""

from pathlib import Path

import pytest

from apps.compliance.sanctions.parsers import (
    ENTITY,
    INDIVIDUAL,
    NATIONAL_ID,
    OTHER_ID,
    PASSPORT,
    REGISTRATION,
    Identifier,
    MalformedList,
    parse,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sanctions"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_the_un_list_gives_individuals_with_all_four_names_aliases_births_nationalities_and_documents():
    entries = {entry.reference: entry for entry in parse("un", _read("un_consolidated.xml"))}

    assert list(entries) == ["QDi.901", "CDi.950", "QDe.990"]
    rashidi = entries["QDi.901"]
    assert (rashidi.kind, rashidi.name) == (INDIVIDUAL, "MOHAMMED ABDULLAH AL-RASHIDI")
    assert rashidi.aliases == ("Abu Hamza al-Yemeni", "Muhammad Abdallah Rashidi")
    assert rashidi.dates_of_birth == ("1975-02-11",)
    assert rashidi.nationalities == ("Yemen",)
    assert rashidi.identifiers == (Identifier(PASSPORT, "04578213", "Yemen"),)
    assert rashidi.programmes == ("Al-Qaida",)
    assert rashidi.line == 4
    alvarez = entries["CDi.950"]
    assert (alvarez.name, alvarez.aliases, alvarez.dates_of_birth) == ("JOSÉ MARÍA ÁLVAREZ PEÑA", (), ("1968",))
    assert alvarez.identifiers == (Identifier(NATIONAL_ID, "CC-79.455.102"),)
    noor = entries["QDe.990"]
    assert (noor.kind, noor.name, noor.aliases) == (ENTITY, "AL-NOOR GENERAL TRADING ESTABLISHMENT",
                                                    ("Nur Trading Company",))


def test_the_ofac_list_gives_people_entities_and_vessels_whatever_the_namespace():
    entries = {entry.reference: entry for entry in parse("ofac", _read("ofac_sdn.xml"))}

    assert list(entries) == ["990101", "990102", "990103"]
    masri = entries["990101"]
    assert (masri.kind, masri.name) == (INDIVIDUAL, "Abdel Karim EL-MASRI")
    assert masri.aliases == ("Abdulkarim MASRI", "ABU KARIM")
    assert masri.dates_of_birth == ("03 Mar 1970", "1971")
    assert masri.nationalities == ("Egypt",)
    assert masri.identifiers == (Identifier(PASSPORT, "A 1234567", "Egypt"),)
    assert masri.programmes == ("SDGT",)
    gulf = entries["990102"]
    assert (gulf.kind, gulf.name, gulf.aliases) == (ENTITY, "GULF HORIZON SHIPPING LLC", ("KHALEEJ UFUQ MARINE",))
    assert gulf.identifiers == (Identifier(REGISTRATION, "CR-445566", "United Arab Emirates"),)
    assert entries["990103"].kind == ENTITY
    assert entries["990103"].identifiers == (Identifier(REGISTRATION, "IMO 9123456"),)
    # The same file without its namespace reads the same.
    plain = _read("ofac_sdn.xml").replace(
        b' xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML"', b"")
    assert parse("ofac", plain) == list(entries.values())


def test_the_local_csv_gives_several_aliases_and_documents_separated_by_semicolons():
    entries = {entry.reference: entry for entry in parse("local", _read("local_list.csv"))}

    khalifi = entries["BH-2025-001"]
    assert (khalifi.kind, khalifi.name, khalifi.aliases) == (
        INDIVIDUAL, "Ahmed Salman Al-Khalifi", ("Ahmad Salman Khalifi", "Abu Salman"))
    assert khalifi.identifiers == (Identifier(PASSPORT, "B7788991"),)
    assert entries["BH-2025-002"].identifiers == (Identifier(REGISTRATION, "CR 112233-1"),)
    assert entries["BH-2025-003"].name == "O'Connor, Siobhán"
    assert entries["BH-2025-003"].line == 4


@pytest.mark.parametrize(("source", "name", "line", "reason"), [
    ("un", "un_missing_name.xml", 54, "<INDIVIDUAL> has no <FIRST_NAME>"),
    ("un", "un_broken.xml", 102, "not well-formed XML"),
    ("ofac", "ofac_bad_type.xml", 91, "unknown <sdnType> 'Ship'"),
    ("local", "local_bad_type.csv", 3, "type must be individual or entity, not 'person'"),
    ("local", "local_bad_header.csv", 1, "the header must be reference,type,name"),
    ("ofac", "un_consolidated.xml", 2, "the root element is <CONSOLIDATED_LIST>, expected <sdnList>"),
])
def test_a_malformed_file_is_refused_with_its_line_and_reason(source, name, line, reason):
    with pytest.raises(MalformedList) as refused:
        parse(source, _read(name))

    assert refused.value.line == line
    assert refused.value.reason.startswith(reason)


def test_a_reference_listed_twice_is_refused_where_it_repeats():
    content = _read("local_list.csv") + b"BH-2025-001,entity,Again,,,,,\n"

    with pytest.raises(MalformedList) as refused:
        parse("local", content)

    assert (refused.value.line, refused.value.reason) == (5, "the reference BH-2025-001 is listed twice")


def test_other_identifiers_are_kept_but_are_not_passports():
    content = _read("un_consolidated.xml").replace(b"<TYPE_OF_DOCUMENT>Passport", b"<TYPE_OF_DOCUMENT>Driving licence")

    [rashidi, *_] = parse("un", content)

    assert rashidi.identifiers == (Identifier(OTHER_ID, "04578213", "Yemen"),)


def test_an_external_entity_is_never_expanded():
    content = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
               b"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><REFERENCE_NUMBER>QDi.1</REFERENCE_NUMBER>"
               b"<FIRST_NAME>&secret;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>")

    with pytest.raises(MalformedList) as refused:
        parse("un", content)

    assert "FIRST_NAME" in refused.value.reason
