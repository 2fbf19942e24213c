"""ISO 20022 messages as files: the official schemas, and reading a file safely.

The schemas in ``xsd/`` are the ISO 20022 message catalogue's own, unmodified (``xsd/README.md``
says where they come from). Each is compiled once per process, on first use, and nothing is ever
fetched: the schemas import nothing, and a file's ``xsi:schemaLocation`` hints are ignored.

A file fincore is given is read by :func:`message_read`, which refuses, with the line and the
reason, in this order:

1. :class:`~apps.settlement.exceptions.Iso20022Malformed` — not well-formed XML, or XML with a
   document type declaration. No ISO 20022 message has one, and a DTD is how XML attacks come
   (entities expanded a billion times, external entities reading local files or the network), so
   a DOCTYPE is refused outright; the parser itself also expands no entity and opens no network
   connection, so nothing is read or expanded before the refusal.
2. :class:`~apps.settlement.exceptions.Iso20022WrongMessage` — well-formed, but the root is not
   the ``Document`` of the message expected; the refusal names what the file is instead.
3. :class:`~apps.settlement.exceptions.Iso20022Invalid` — the message breaks its schema (the
   first error the schema finds, with its path in the document).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import xmlschema
from lxml import etree

from apps.settlement.exceptions import Iso20022Invalid, Iso20022Malformed, Iso20022WrongMessage

XSD_DIR = Path(__file__).resolve().parent / "xsd"

PAIN_001 = "pain.001.001.09"
PAIN_002 = "pain.002.001.10"
MESSAGES = (PAIN_001, PAIN_002)
"""The messages whose schemas ship in ``xsd/`` (``<message>.xsd``)."""

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"

# libxml2 appends the position to its message; the line is reported on its own.
_POSITION_SUFFIX = re.compile(r",? line \d+, column \d+$")


def message_namespace(message: str) -> str:
    """``"pain.001.001.09"`` → ``"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"``.

    Raises ValueError for a message whose schema fincore does not ship."""
    if message not in MESSAGES:
        raise ValueError(f"no schema for {message!r}: fincore ships {', '.join(MESSAGES)}")
    return NAMESPACE_PREFIX + message


@functools.cache
def _schema(message: str) -> xmlschema.XMLSchema10:
    # allow="local": the schema's own file and nothing remote (the ISO schemas import nothing).
    return xmlschema.XMLSchema10(str(XSD_DIR / f"{message}.xsd"), allow="local")


def _parser() -> etree.XMLParser:
    # A parser per call: lxml's parsers keep state between documents and are not to be shared
    # across threads. No entity is expanded, no DTD loaded, nothing fetched, no huge-tree mode
    # (libxml2's own limits on depth and text size stay on).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )


def _doctype_line(document: bytes) -> int | None:
    # Found in a file in UTF-8 or another ASCII-compatible encoding (None in UTF-16: the
    # parsed tree's docinfo still shows the DOCTYPE, without a line).
    at = document.find(b"<!DOCTYPE")
    return document.count(b"\n", 0, at) + 1 if at >= 0 else None


def xml_parse(document: bytes) -> etree._ElementTree:
    """The XML tree of ``document``, read without expanding entities or fetching anything.

    Raises Iso20022Malformed (with the line and libxml2's reason) for bytes that are not
    well-formed XML, and for a document with a DOCTYPE, whatever it declares. TypeError for
    anything but bytes (a file is bytes: its encoding is the XML declaration's business)."""
    if not isinstance(document, bytes):
        raise TypeError(f"an ISO 20022 file is bytes, not {type(document).__name__}")
    try:
        root = etree.fromstring(document, _parser())
    except etree.XMLSyntaxError as error:
        if _doctype_line(document) is not None:
            # libxml2 stops some attacks on its own (an entity amplified past its limit); the
            # DOCTYPE is the refusal's reason all the same.
            raise _doctype_refused(document) from None
        reason = _POSITION_SUFFIX.sub("", error.msg or "not well-formed XML")
        raise Iso20022Malformed(line=error.lineno, reason=f"not well-formed XML: {reason}") from None
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise _doctype_refused(document)
    return tree


def _doctype_refused(document: bytes) -> Iso20022Malformed:
    return Iso20022Malformed(
        line=_doctype_line(document),
        reason="a document type declaration (<!DOCTYPE …>) is not allowed in an ISO 20022 file",
    )


def message_check(root: etree._Element, message: str) -> None:
    """Refuse, with Iso20022WrongMessage, a root that is not ``message``'s ``Document``.

    ``found`` names what the file is: the ISO 20022 message it declares (``pain.001.001.09``),
    or the root element in Clark notation (``{namespace}name``, ``name`` without one)."""
    expected = message_namespace(message)
    qname = etree.QName(root)
    if qname.namespace == expected and qname.localname == "Document":
        return
    if qname.namespace and qname.namespace.startswith(NAMESPACE_PREFIX) and qname.localname == "Document":
        found = qname.namespace.removeprefix(NAMESPACE_PREFIX)
        reason = f"the file is a {found} message, not {message}"
    else:
        found = qname.text
        reason = f"the root element is {found}, not the Document of {message} ({{{expected}}}Document)"
    raise Iso20022WrongMessage(line=root.sourceline, reason=reason, expected=message, found=found)


def tree_validate(tree: etree._ElementTree, message: str) -> None:
    """Validate a parsed message against its official XSD; Iso20022Invalid on the first error."""
    error = next(_schema(message).iter_errors(tree), None)
    if error is not None:
        reason = error.reason or error.message
        raise Iso20022Invalid(line=error.sourceline, reason=f"{error.path}: {reason}" if error.path else reason)


def message_read(document: bytes, *, message: str) -> etree._Element:
    """The root ``Document`` of ``document``, a well-formed, schema-valid ``message``.

    Raises Iso20022Malformed, Iso20022WrongMessage or Iso20022Invalid (see the module's
    docstring), each with ``line`` and ``reason``; ValueError for a message without a schema."""
    message_namespace(message)
    tree = xml_parse(document)
    message_check(tree.getroot(), message)
    tree_validate(tree, message)
    return tree.getroot()


def schema_validate(document: bytes, message: str) -> None:
    """Check that ``document`` is a schema-valid ``message`` (``"pain.001.001.09"`` or
    ``"pain.002.001.10"``); returns nothing, raises as :func:`message_read` does."""
    message_read(document, message=message)
