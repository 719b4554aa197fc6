#!/usr/bin/env python3
"""Validates AI-BOM documents with the official validators, and writes static BOMs.

  validate_bom.py cyclonedx FILE...   CycloneDX 1.6 JSON schema (cyclonedx-python-lib, strict)
  validate_bom.py spdx3 FILE...       SPDX 3.0.1: decoded, linked and re-encoded by the SPDX
                                   model bindings (spdx-python-model), which check types,
                                   enum values and required properties and cardinalities
  validate_bom.py static OUT NAME PURL SHA256 LICENSE
                                   writes a CycloneDX 1.6 BOM declaring one model and one
                                   dataset (`never-loaded`) with cyclonedx-python-lib

Exit 0 when valid; else prints the errors and exits 1.
"""
import io
import json
import sys


def cyclonedx(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with open(path) as f:
        text = f.read()
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    if errors:
        for e in errors:
            print(f"CycloneDX 1.6 schema: {e}", file=sys.stderr)
        return 1
    print(f"{path}: valid CycloneDX 1.6")
    return 0


def spdx3(path):
    from spdx_python_model import v3_0_1 as spdx

    with open(path) as f:
        doc = json.load(f)
    if doc.get("@context") != "https://spdx.org/rdf/3.0.1/spdx-context.jsonld":
        print(f"unexpected @context {doc.get('@context')!r}", file=sys.stderr)
        return 1
    objects = spdx.SHACLObjectSet()
    with open(path) as f:
        spdx.JSONLDDeserializer().read(f, objects)
    missing = objects.link()
    if missing:
        print(f"SPDX 3.0.1: unresolved references {sorted(missing)}", file=sys.stderr)
        return 1
    # encoding checks every object's required properties and cardinalities
    spdx.JSONLDSerializer().write(objects, io.BytesIO())
    kinds = sorted({type(o).__name__ for o in objects.objects})
    print(f"{path}: valid SPDX 3.0.1 ({len(objects.objects)} objects: {', '.join(kinds)})")
    return 0


def static(out, name, purl, sha256, license_id):
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.license import LicenseExpression
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    bom = Bom()
    bom.metadata.component = Component(name="ml-app", type=ComponentType.APPLICATION, bom_ref="ml-app")
    model = Component(
        name=name,
        type=ComponentType.MACHINE_LEARNING_MODEL,
        purl=PackageURL.from_string(purl),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha256)],
        licenses=[LicenseExpression(license_id)],
        bom_ref="declared-model",
    )
    unused = Component(name="never-loaded", type=ComponentType.DATA, bom_ref="declared-data")
    bom.components.add(model)
    bom.components.add(unused)
    bom.register_dependency(bom.metadata.component, [model, unused])
    with open(out, "w") as f:
        f.write(JsonV1Dot6(bom).output_as_string(indent=2))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] in ("cyclonedx", "spdx3"):
        check = cyclonedx if argv[1] == "cyclonedx" else spdx3
        return max(check(f) for f in argv[2:])
    if len(argv) == 7 and argv[1] == "static":
        return static(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
