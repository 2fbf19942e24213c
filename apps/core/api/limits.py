"""How large a request body the API takes: limits derived from the largest object it accepts.

The largest object is one carrying metadata at its maximum (``MAX_METADATA_BYTES``, measured as
compact JSON in UTF-8). A client's JSON encoder may write it larger than that measure: most escape
non-ASCII characters by default (``é`` is 2 bytes in UTF-8 and 6 as ``\\u00e9``; an emoji 4 and 12)
and put a space after each ``,`` and ``:``, so every byte of the measure takes at most 3 on the
wire. The object's other text fields (references, client ids, tokens, names: at most 255
characters each) are budgeted as escaped too, at 12 bytes a character. A body over its endpoint's
limit is refused with 413 ``request_too_large`` before it is read.
"""

KIB = 1024

# A merchant's metadata on any object (checked by apps.core.api.fields.MetadataField).
MAX_METADATA_KEYS = 50
MAX_METADATA_DEPTH = 5  # the metadata object itself is the first level
MAX_METADATA_BYTES = 8 * KIB  # as compact JSON in UTF-8

# Metadata as escaped on the wire, and the other fields (two 255-character texts at 12 bytes a
# character, ids, amount, currency and field names) with room to spare: 24 KiB + 8 KiB.
OBJECT_MAX_BYTES = 3 * MAX_METADATA_BYTES + 8 * KIB

# Every endpoint takes one object; the rest of the 64 KiB is margin (whitespace, an indent).
MAX_BODY_BYTES = 64 * KIB

# A batch endpoint takes up to this many objects in one request.
MAX_BATCH_OBJECTS = 1000

# A full batch of objects at their largest, plus the default limit for the envelope around them:
# 1,000 x 32 KiB + 64 KiB = 32,833,536 bytes (31.3 MiB). No endpoint takes more, so this is also
# how much of a chunked body is read before it is known to be too large.
MAX_BATCH_BODY_BYTES = MAX_BATCH_OBJECTS * OBJECT_MAX_BYTES + MAX_BODY_BYTES
