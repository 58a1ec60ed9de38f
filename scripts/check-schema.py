#!/usr/bin/env python3
"""Validate YAML files against a JSON Schema, reading YAML as YAML 1.2's core schema does
(as yaml-language-server does): `16:9`, `yes` and `no` are strings, not numbers or booleans.

Usage: check-schema.py SCHEMA FILE...   Prints one JSON object: {file: true|false}.
"""
import json
import re
import sys

import jsonschema
import yaml


class CoreLoader(yaml.SafeLoader):
    pass


CoreLoader.yaml_implicit_resolvers = {}
for tag, regexp, first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", list("-+0123456789")),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", list("-+.0123456789")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^<<$", ["<"]),
]:
    CoreLoader.add_implicit_resolver(tag, re.compile(regexp), first)


def main():
    schema = json.load(open(sys.argv[1]))
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    result = {}
    for path in sys.argv[2:]:
        try:
            with open(path, encoding="utf-8") as f:
                data = yaml.load(f, Loader=CoreLoader)
            errors = list(validator.iter_errors(data))
            result[path] = not errors
            for e in errors:
                print(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}", file=sys.stderr)
        except Exception as e:  # unreadable or not YAML: invalid for the schema too
            print(f"{path}: {e}", file=sys.stderr)
            result[path] = False
    print(json.dumps(result))


if __name__ == "__main__":
    main()
