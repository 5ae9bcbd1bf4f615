"""Decodes Plinth events the way docs/partners.md tells a partner to, with fastavro.

Usage: decode.py SCHEMAS_DIR < payloads (one hex-encoded payload a line).
Writes, for each payload, the full name of the record it decoded to and the
decoded datum as JSON, one object a line; exits non-zero on the first payload it
cannot decode.
"""
import glob
import io
import json
import sys

from fastavro import parse_schema, schemaless_reader
from fastavro.schema import fingerprint, to_parsing_canonical_form

# As in docs/partners.md: every schema file, by the fingerprint its events carry.
writers = {}
for path in glob.glob(f"{sys.argv[1]}/**/*.avsc", recursive=True):
    with open(path, encoding="utf-8") as f:
        schema = parse_schema(json.load(f))
    writers[bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))] = schema


def decode(payload: bytes) -> tuple[str, dict]:
    assert payload[:2] == b"\xc3\x01", "not single-object encoded"
    writer = writers[payload[2:10]]
    return writer["name"], schemaless_reader(io.BytesIO(payload[10:]), writer)


for line in sys.stdin:
    name, datum = decode(bytes.fromhex(line.strip()))
    print(json.dumps({"name": name, "datum": datum}, default=str))
