"""Limits on the shape of untrusted structured input, checked without recursion.

``json.loads`` and PyYAML's composer descend one Python frame (or more) per level of nesting, so
a document of 10 000 ``[`` raises ``RecursionError`` — which no parser reports as a syntax error.
These checks measure the nesting first, in flat loops, so that callers can refuse it cleanly.
"""

from __future__ import annotations

import codecs
import re

import numpy as np

# No request or document of this app nests deeper than a dozen levels (a scenario document's
# ``plan`` section is the deepest, at about 6); 64 leaves room for any client's wrapping and stays
# far below Python's default recursion limit of 1000 frames.
MAX_JSON_DEPTH = 64

# A JSON string (with escapes), unrolled so the regex engine never backtracks per character.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = {ord("["), ord("]"), ord("{"), ord("}")}
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_OPEN = np.array([ord("["), ord("{")], dtype=np.uint8)


def json_depth(text: bytes | str) -> int:
    """The deepest nesting of arrays and objects in JSON text, without parsing it.

    Brackets inside strings do not count. Unbalanced text (``[[[[``) counts as deep as it goes:
    that is how far a recursive parser descends before it notices the error.
    """
    body = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where(np.isin(codes, _OPEN), 1, -1)
    return int(np.cumsum(steps).max())


# The Unicode encodings RFC 4627 §3 allowed for JSON (RFC 8259 §8.1 now requires UTF-8), by
# Python's codec name, plus ASCII (a subset of UTF-8). Any other charset is refused: a body in
# UTF-7 or EBCDIC has brackets a byte scan never sees, and JSON in it is not interoperable.
JSON_ENCODINGS = frozenset(
    {"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
    | {"ascii"}
)


class UnsupportedCharset(ValueError):
    """A JSON body's declared charset is unknown or not a Unicode encoding."""

    def __init__(self, charset: str) -> None:
        super().__init__(charset)
        self.charset = charset


def json_encoding(body: bytes, declared: str | None) -> str:
    """The encoding to read a JSON body with: the declared charset when it is a Unicode one
    (``UnsupportedCharset`` otherwise), else what the first bytes say (``sniff_json_encoding``)."""
    if declared is None:
        return sniff_json_encoding(body)
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        raise UnsupportedCharset(declared) from None
    if name not in JSON_ENCODINGS:
        raise UnsupportedCharset(declared)
    return name


def sniff_json_encoding(body: bytes) -> str:
    """The Unicode encoding of JSON text without a declared charset (RFC 4627 §3, RFC 8259 §8.1).

    A byte-order mark names it; else the pattern of zero bytes among the first four does, since
    the first two characters of JSON text are ASCII: ``00 00 00 xx`` is UTF-32BE, ``xx 00 00 00``
    UTF-32LE, ``00 xx 00 xx`` UTF-16BE, ``xx 00 xx 00`` UTF-16LE; anything else is UTF-8.
    """
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # UTF-32LE's mark begins with UTF-16LE's (FF FE), so look for the longer ones first.
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    zeros = tuple(byte == 0 for byte in body[:4])
    patterns = {
        (True, True, True, False): "utf-32-be",
        (False, True, True, True): "utf-32-le",
        (True, False, True, False): "utf-16-be",
        (False, True, False, True): "utf-16-le",
        (True, False): "utf-16-be",  # a single character
        (False, True): "utf-16-le",
    }
    return patterns.get(zeros, "utf-8")
