"""Reading sanctions lists from the files staff download from the official sources.

Plain Python (lxml, csv), no Django: each parser turns one file into ``ListEntry`` values or
raises ``MalformedList`` with the line and the reason, so an import refuses the whole file
before anything is written.

- ``un``: the UN Security Council consolidated list XML (``CONSOLIDATED_LIST`` with
  ``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``), as published at
  scsanctions.un.org/resources/xml/en/consolidated.xml.
- ``ofac``: OFAC's SDN list XML (``sdnList/sdnEntry``, sdn.xml), whatever namespace the
  Treasury's publication uses this year (elements are matched by local name).
- ``local``: the national list, kept by the compliance team as CSV (UTF-8, a header row):
  ``reference,type,name,aliases,date_of_birth,nationality,passport,registration_number``;
  ``type`` is ``individual`` or ``entity``; ``aliases`` and the dates, nationalities and
  documents may hold several values separated by ``;``.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

SOURCES = ("un", "ofac", "local")
INDIVIDUAL = "individual"
ENTITY = "entity"
# The identifiers an exact match is scored on (passport, national id, registration number).
PASSPORT = "passport"
NATIONAL_ID = "national_id"
REGISTRATION = "registration_number"
OTHER_ID = "other_id"


class MalformedList(Exception):
    """The file is not a list of the source it was given as: nothing of it may be imported."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(f"line {line}: {reason}" if line else reason)


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: str  # PASSPORT, NATIONAL_ID, REGISTRATION, OTHER_ID
    number: str
    country: str = ""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One listed person or organisation: ``reference`` is the list's own stable id (the UN's
    reference number, OFAC's uid), which names the same entry across versions."""

    reference: str
    kind: str  # INDIVIDUAL or ENTITY
    name: str
    aliases: tuple[str, ...] = ()
    dates_of_birth: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    programmes: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The name then each alias, once each."""
        return tuple(dict.fromkeys((self.name, *self.aliases)))


def parse(source: str, content: bytes) -> list[ListEntry]:
    """The entries of a file of ``source`` (one of SOURCES). Raises MalformedList."""
    if source == "un":
        return list(_un_entries(_xml_root(content, "CONSOLIDATED_LIST")))
    if source == "ofac":
        return list(_ofac_entries(_xml_root(content, "sdnList")))
    if source == "local":
        return list(_local_entries(content))
    raise MalformedList(None, f"unknown list source {source!r}; expected one of {', '.join(SOURCES)}")


# --- XML ------------------------------------------------------------------------------------


def _xml_root(content: bytes, root_name: str) -> etree._Element:
    # No network, no entities: a list file is data, never a reason to fetch or expand anything.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise MalformedList(error.lineno, f"not well-formed XML: {error.msg}") from error
    if etree.QName(root).localname != root_name:
        raise MalformedList(root.sourceline, f"the root element is <{etree.QName(root).localname}>, "
                                             f"expected <{root_name}>")
    return root


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in element if _local(child) == name)


def _text(element: etree._Element, name: str) -> str:
    child = next(_children(element, name), None)
    return " ".join((child.text or "").split()) if child is not None else ""


def _required(element: etree._Element, name: str) -> str:
    value = _text(element, name)
    if not value:
        raise MalformedList(element.sourceline, f"<{_local(element)}> has no <{name}>")
    return value


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


_UN_DOCUMENTS = {"passport": PASSPORT, "national identification number": NATIONAL_ID,
                 "national identity card": NATIONAL_ID}


def _un_entries(root: etree._Element) -> Iterator[ListEntry]:
    sections = {_local(child): child for child in root}
    if "INDIVIDUALS" not in sections or "ENTITIES" not in sections:
        raise MalformedList(root.sourceline, "<CONSOLIDATED_LIST> must hold <INDIVIDUALS> and <ENTITIES>")
    seen: set[str] = set()
    for element in sections["INDIVIDUALS"]:
        if not _local(element):
            continue
        if _local(element) != "INDIVIDUAL":
            raise MalformedList(element.sourceline, f"unexpected <{_local(element)}> in <INDIVIDUALS>")
        yield _once(_un_individual(element), seen)
    for element in sections["ENTITIES"]:
        if not _local(element):
            continue
        if _local(element) != "ENTITY":
            raise MalformedList(element.sourceline, f"unexpected <{_local(element)}> in <ENTITIES>")
        yield _once(_un_entity(element), seen)


def _once(entry: ListEntry, seen: set[str]) -> ListEntry:
    if entry.reference in seen:
        raise MalformedList(entry.line, f"the reference {entry.reference} is listed twice")
    seen.add(entry.reference)
    return entry


def _un_reference(element: etree._Element) -> str:
    # REFERENCE_NUMBER (QDi.001) is what the committee publishes; DATAID names it otherwise.
    reference = _text(element, "REFERENCE_NUMBER") or _text(element, "DATAID")
    if not reference:
        raise MalformedList(element.sourceline, f"<{_local(element)}> has neither <REFERENCE_NUMBER> nor <DATAID>")
    return reference


def _un_aliases(element: etree._Element, tag: str) -> tuple[str, ...]:
    # Every quality ("Good" and "Low"): a low-quality alias is still a name to screen against.
    return tuple(name for alias in _children(element, tag) if (name := _text(alias, "ALIAS_NAME")))


def _un_individual(element: etree._Element) -> ListEntry:
    # The schema requires FIRST_NAME; the other three are present only when the person has them.
    name = _joined(_required(element, "FIRST_NAME"),
                   *(_text(element, part) for part in ("SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")))
    dates = []
    for birth in _children(element, "INDIVIDUAL_DATE_OF_BIRTH"):
        date = (_text(birth, "DATE") or _text(birth, "YEAR")
                or _joined(_text(birth, "FROM_YEAR"), _text(birth, "TO_YEAR")))
        if date:
            dates.append(date)
    nationalities = [" ".join(value.text.split()) for nationality in _children(element, "NATIONALITY")
                     for value in _children(nationality, "VALUE") if value.text and value.text.strip()]
    identifiers = []
    for document in _children(element, "INDIVIDUAL_DOCUMENT"):
        number = _text(document, "NUMBER")
        if number:
            kind = _UN_DOCUMENTS.get(_text(document, "TYPE_OF_DOCUMENT").lower(), OTHER_ID)
            identifiers.append(Identifier(kind, number, _text(document, "ISSUING_COUNTRY")))
    return ListEntry(
        reference=_un_reference(element), kind=INDIVIDUAL, name=name,
        aliases=_un_aliases(element, "INDIVIDUAL_ALIAS"), dates_of_birth=tuple(dates),
        nationalities=tuple(nationalities), identifiers=tuple(identifiers),
        programmes=tuple(filter(None, [_text(element, "UN_LIST_TYPE")])), line=element.sourceline or 0,
    )


def _un_entity(element: etree._Element) -> ListEntry:
    return ListEntry(
        reference=_un_reference(element), kind=ENTITY, name=_required(element, "FIRST_NAME"),
        aliases=_un_aliases(element, "ENTITY_ALIAS"),
        programmes=tuple(filter(None, [_text(element, "UN_LIST_TYPE")])), line=element.sourceline or 0,
    )


_OFAC_TYPES = {"Individual": INDIVIDUAL, "Entity": ENTITY, "Vessel": ENTITY, "Aircraft": ENTITY}


def _ofac_identifier(element: etree._Element) -> Identifier | None:
    number, kind = _text(element, "idNumber"), _text(element, "idType").lower()
    if not number:
        return None
    if kind.startswith("passport"):
        mapped = PASSPORT
    elif "regist" in kind or kind.startswith(("business number", "tax id")):
        mapped = REGISTRATION
    elif "national id" in kind or "cedula" in kind or "identification number" in kind:
        mapped = NATIONAL_ID
    else:
        mapped = OTHER_ID
    return Identifier(mapped, number, _text(element, "idCountry"))


def _ofac_entries(root: etree._Element) -> Iterator[ListEntry]:
    seen: set[str] = set()
    for element in root:
        name = _local(element)
        if name in ("", "publshInformation"):
            continue
        if name != "sdnEntry":
            raise MalformedList(element.sourceline, f"unexpected <{name}> in <sdnList>")
        uid = _required(element, "uid")
        if not uid.isdigit():
            raise MalformedList(element.sourceline, f"<uid> {uid!r} is not a number")
        sdn_type = _required(element, "sdnType")
        if sdn_type not in _OFAC_TYPES:
            raise MalformedList(element.sourceline, f"unknown <sdnType> {sdn_type!r}")
        # OFAC writes "lastName" alone for organisations and "firstName lastName" for people.
        name = _joined(_text(element, "firstName"), _required(element, "lastName"))
        aliases = tuple(
            _joined(_text(aka, "firstName"), _text(aka, "lastName"))
            for akas in _children(element, "akaList") for aka in _children(akas, "aka")
            if _text(aka, "lastName")
        )
        identifiers = tuple(
            identifier for ids in _children(element, "idList") for item in _children(ids, "id")
            if (identifier := _ofac_identifier(item)) is not None
        )
        yield _once(ListEntry(
            reference=uid, kind=_OFAC_TYPES[sdn_type], name=name, aliases=aliases,
            dates_of_birth=tuple(
                date for births in _children(element, "dateOfBirthList")
                for item in _children(births, "dateOfBirthItem") if (date := _text(item, "dateOfBirth"))),
            nationalities=tuple(
                country for nationalities in _children(element, "nationalityList")
                for item in _children(nationalities, "nationality") if (country := _text(item, "country"))),
            identifiers=identifiers,
            programmes=tuple(program.text.strip() for programs in _children(element, "programList")
                             for program in _children(programs, "program") if program.text),
            line=element.sourceline or 0,
        ), seen)


# --- the local CSV --------------------------------------------------------------------------

LOCAL_COLUMNS = ("reference", "type", "name", "aliases", "date_of_birth", "nationality", "passport",
                 "registration_number")


def _several(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


def _local_entries(content: bytes) -> Iterator[ListEntry]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[:error.start].count(b"\n") + 1
        raise MalformedList(line, "not UTF-8 text") from error
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    if tuple(reader.fieldnames or ()) != LOCAL_COLUMNS:
        raise MalformedList(1, f"the header must be {','.join(LOCAL_COLUMNS)}")
    seen: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if None in row or None in row.values():
                raise MalformedList(line, f"expected {len(LOCAL_COLUMNS)} columns")
            reference, kind, name = row["reference"].strip(), row["type"].strip().lower(), row["name"].strip()
            if not reference or not name:
                raise MalformedList(line, "reference and name are required")
            if kind not in (INDIVIDUAL, ENTITY):
                raise MalformedList(line, f"type must be individual or entity, not {row['type']!r}")
            yield _once(ListEntry(
                reference=reference, kind=kind, name=name, aliases=_several(row["aliases"]),
                dates_of_birth=_several(row["date_of_birth"]), nationalities=_several(row["nationality"]),
                identifiers=tuple(
                    [Identifier(PASSPORT, number) for number in _several(row["passport"])]
                    + [Identifier(REGISTRATION, number) for number in _several(row["registration_number"])]),
                line=line,
            ), seen)
    except csv.Error as error:
        raise MalformedList(reader.line_num, f"not valid CSV: {error}") from error
