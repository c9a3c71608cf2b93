"""Limits on the shape of untrusted structured input, checked without recursion.

``json.loads`` and PyYAML's composer descend one Python frame (or more) per level of nesting, so
a document of 10 000 ``[`` raises ``RecursionError`` — which no parser reports as a syntax error.
These checks measure the nesting first, in flat loops, so that callers can refuse it cleanly.
"""

from __future__ import annotations

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
