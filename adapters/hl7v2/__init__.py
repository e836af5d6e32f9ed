"""HL7 v2 in ER7 (pipe) encoding: a small, fast reader for the ingest hot path, and batch splitting.

``parse_message(bytes)`` gives an :class:`Er7Message` whose values are read by path (``msg.get("PID-3[2].4.2")``)
or by walking segments, fields, repetitions and components. Bad input raises :class:`adapters.errors.Hl7Error`
(codes ``ADP-HL7-STRUCTURE`` and ``ADP-HL7-CHARSET``), never another exception. Its values equal hl7apy's on the
public corpora (``tests/adapters/hl7v2/test_er7_differential.py``); hl7apy is about a hundred times slower.
"""

from __future__ import annotations

from adapters.errors import Hl7Error
from adapters.hl7v2.batch import split_messages
from adapters.hl7v2.charset import CODECS
from adapters.hl7v2.er7 import Er7Message, Field, Repetition, Segment, parse_message
from adapters.hl7v2.escape import Separators, unescape
from adapters.hl7v2.path import Path, location, parse_path

__all__ = [
    "CODECS",
    "Er7Message",
    "Field",
    "Hl7Error",
    "Path",
    "Repetition",
    "Segment",
    "Separators",
    "location",
    "parse_message",
    "parse_path",
    "split_messages",
    "unescape",
]
