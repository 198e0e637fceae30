#!/usr/bin/env python3
"""The JSON Schemas in docs/schema/ against the files they describe, and against jaq's readers.

Every preset in examples/presets/ and every docs/schema/examples/*.accel.json must validate;
each of a set of known-bad inputs must be refused by the schema and, for accelerator files, by
jaq itself (`map --accel`), so the schema and the reader agree on both sides.
Usage: schema_test.py MAP_BINARY
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import jsonschema

ROOT = os.getcwd()  # the runfiles root of the test: the repository's files
SCHEMAS = os.path.join(ROOT, "docs", "schema")
failures = []


def load(path):
    with open(path) as f:
        return json.load(f)


def validator(name):
    schema = load(os.path.join(SCHEMAS, name))
    jsonschema.Draft202012Validator.check_schema(schema)
    try:  # jsonschema >= 4.18 resolves $ref through referencing
        from referencing import Registry, Resource
        reg = Registry().with_resources(
            [(load(p)["$id"], Resource.from_contents(load(p))) for p in glob.glob(os.path.join(SCHEMAS, "*.schema.json"))])
        return jsonschema.Draft202012Validator(schema, registry=reg)
    except ImportError:  # Debian 12's jsonschema 4.10
        store = {load(p)["$id"]: load(p) for p in glob.glob(os.path.join(SCHEMAS, "*.schema.json"))}
        return jsonschema.Draft202012Validator(schema, resolver=jsonschema.RefResolver.from_schema(schema, store=store))


def expect(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


preset, accel, space = validator("preset.schema.json"), validator("accel.schema.json"), validator("space.schema.json")
presets = sorted(glob.glob(os.path.join(ROOT, "examples", "presets", "*.json")))
accels = sorted(glob.glob(os.path.join(SCHEMAS, "examples", "*.accel.json")))
expect(len(presets) >= 3 and len(accels) >= 2, f"found {len(presets)} presets and {len(accels)} accelerator examples")
for p in presets:
    errs = [e.message for e in preset.iter_errors(load(p))]
    expect(not errs, f"{os.path.relpath(p, ROOT)} validates against preset.schema.json {errs[:2] if errs else ''}")
for p in accels:
    errs = [e.message for e in accel.iter_errors(load(p))]
    expect(not errs, f"{os.path.relpath(p, ROOT)} validates against accel.schema.json {errs[:2] if errs else ''}")

base = load(presets[0])
bad_presets = {
    "unknown top-level field": dict(base, epochs=3),
    "unknown search field": dict(base, search=dict(base.get("search", {}), lerning_rate=0.1)),
    "a string for an integer": dict(base, retrain=dict(base.get("retrain", {}), epochs="10")),
    "a dataset jaq has no loader or space for": dict(base, dataset="mnist"),
    "an unknown field in the long variant": dict(base, long={"serch": {}}),
    "area budget neither a number nor \"inf\"": dict(base, search=dict(base.get("search", {}), area_budget_mm2="none")),
}
for what, doc in bad_presets.items():
    expect(not preset.is_valid(doc), f"preset schema refuses: {what}")
bad_spaces = {"bits 9": {"bits": [2, 9]}, "an even kernel": {"ops": ["k4_e1"]}, "stride 3": {"stage_strides": [3]},
              "a width listed twice": {"bits": [4, 4]}}
for what, doc in bad_spaces.items():
    expect(not space.is_valid(doc), f"space schema refuses: {what}")

bad_accels = {"a misspelt field": {"wbuf": 1}, "a fraction": {"M": 2.5}, "a string": {"N": "16"}, "zero": {"obuf_bytes": 0},
              "a negative clock": {"frequency_hz": -1}, "not an object": [16, 32]}
map_bin = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    def jaq_accepts(doc):
        path = os.path.join(tmp, "a.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = subprocess.run([map_bin, "--network", "resnet18", "--accel", path, "--out", os.path.join(tmp, "m.csv")],
                           capture_output=True, text=True)
        return r.returncode == 0
    for what, doc in bad_accels.items():
        expect(not accel.is_valid(doc), f"accel schema refuses: {what}")
        expect(not jaq_accepts(doc), f"map --accel refuses too: {what}")
    for p in accels:
        expect(jaq_accepts(load(p)), f"map --accel accepts {os.path.relpath(p, ROOT)}")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
