"""Validates SARIF logs against the SARIF 2.1.0 schema, as the schema says:
with the validator of the JSON Schema draft it names (draft-07 for OASIS's
sarif-schema-2.1.0.json), its formats checked (uri, uri-reference,
date-time).

Usage: sarif_schema.py SCHEMA LOG...   Exit status 0 when every log is
valid; 1, with one line per error, when one is not; 2 when the schema is
not a draft-07 schema.
"""

from __future__ import annotations

import json
import sys

import jsonschema


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    if validator_class is not jsonschema.Draft7Validator:
        print(f"{argv[1]}: not a draft-07 schema: {schema.get('$schema')}", file=sys.stderr)
        return 2
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            log = json.load(f)
        for error in validator.iter_errors(log):
            errors += 1
            print(f"{path}: {error.json_path}: {error.message[:300]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
