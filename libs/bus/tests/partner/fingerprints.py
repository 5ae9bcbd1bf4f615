"""Fingerprints of Avro schemas as fastavro computes them.

Reads a JSON list of schema file paths on standard input and writes, for every
schema, its full name, its Parsing Canonical Form and the hex of its CRC-64-AVRO
fingerprint as single-object encoding carries it (little-endian), one JSON object
a line. fastavro is an Avro implementation independent of Plinth's.
"""
import json
import sys

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

# The specification's CRC-64-AVRO of "int" is 0x7275d51a3f395c8f: its bytes,
# little-endian, are what fastavro gives.
assert fingerprint('"int"', "CRC-64-AVRO") == "8f5c393f1ad57572"

named = {}
for path in json.load(sys.stdin):
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    parsed = parse_schema(schema, named_schemas=named)
    form = to_parsing_canonical_form(parsed)
    print(json.dumps({
        "name": parsed["name"],
        "canonical_form": form,
        # The hex of the fingerprint's bytes in the order single-object encoding
        # writes them (little-endian), as fastavro gives it.
        "fingerprint": fingerprint(form, "CRC-64-AVRO"),
    }))
