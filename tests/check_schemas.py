"""Validates `check` output files against the vendored schemas in tests/schemas/.

Usage: check_schemas.py sarif FILE... | junit FILE...
Prints one line per invalid file with the first error and exits 1 if any is invalid.
"""

import json
import pathlib
import sys

import jsonschema
import xmlschema

SCHEMAS = pathlib.Path(__file__).resolve().parent / "schemas"


def sarif_errors(path):
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    document = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def junit_errors(path):
    schema = xmlschema.XMLSchema(str(SCHEMAS / "JUnit.xsd"))
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(path))]


def main():
    kind, files = sys.argv[1], sys.argv[2:]
    errors_of = {"sarif": sarif_errors, "junit": junit_errors}[kind]
    invalid = 0
    for path in files:
        errors = errors_of(path)
        if errors:
            invalid += 1
            print(f"{path}: {len(errors)} error(s), first: {errors[0]}")
        else:
            print(f"{path}: valid {kind}")
    sys.exit(1 if invalid else 0)


if __name__ == "__main__":
    main()
