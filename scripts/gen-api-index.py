#!/usr/bin/env python3
"""Turns Stripe's OpenAPI description (spec3*.json) into the compact index that
stripe_api_search, stripe_api_details and the generic calls' checks read
(src/stripe/api_index.json).

    python3 scripts/gen-api-index.py ../shared/stripe-openapi/spec3-2024-04-10.json \
        --fixtures ../shared/stripe-openapi/fixtures3.json

The output is a pure function of the inputs (sorted, no timestamps), so the test
`the_checked_in_api_index_matches_its_source` can regenerate it and compare bytes.
Only the standard library is used.
"""

import argparse
import html
import json
import os
import re
import sys

# Fields nested deeper than this are named but not described (the `more` list).
MAX_DEPTH = 4
# Short descriptions: the first sentence, cut at these many characters.
TOP_DESC = 110
NESTED_DESC = 70
SUMMARY = 140
# More enum values than this are cut, the count kept.
MAX_ENUM = 40
# Parameters every list takes; they are named in the index but not described at length.
COMMON = {"expand", "limit", "starting_after", "ending_before"}


def plain(text):
    """HTML and markdown reduced to one line of plain text."""
    text = re.sub(r"<[^>]+>", "", text or "")
    text = html.unescape(text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def first_sentence(text, limit):
    text = plain(text)
    m = re.search(r"(?<!e\.g)(?<!i\.e)(?<!etc)\.(\s+(?=[A-Z(])|$)", text)
    if m:
        text = text[: m.start() + 1]
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


def variants(schema):
    """The alternatives of a schema; `""` (unset) is reported apart."""
    alts = schema.get("anyOf") or schema.get("oneOf")
    if not alts:
        return [schema], False
    out, unset = [], False
    for a in alts:
        if a.get("enum") == [""] and a.get("type", "string") == "string":
            unset = True
        else:
            out.append(a)
    return out or [{"type": "string"}], unset


def type_of(schema):
    vs, _ = variants(schema)
    names = []
    for v in vs:
        t = v.get("type", "object" if "properties" in v else "any")
        if t == "array":
            t = "array of " + type_of(v.get("items", {}))
        if t == "object" and "properties" not in v and v.get("additionalProperties"):
            t = "map"
        if t not in names:
            names.append(t)
    return "|".join(names)


def object_of(schema):
    """The object variant with properties, following arrays. Several object variants
    (`card`: the card's details or a token) are merged: every field of any variant is
    taken, and required only when every variant requires it."""
    vs, _ = variants(schema)
    objs = []
    for v in vs:
        if v.get("type") == "array":
            inner = object_of(v.get("items", {}))
            if inner is not None:
                objs.append(inner)
        elif "properties" in v:
            objs.append(v)
    if len(objs) <= 1:
        return objs[0] if objs else None
    props, required = {}, None
    for o in objs:
        for k, v in o["properties"].items():
            props.setdefault(k, v)
        req = set(o.get("required", []))
        required = req if required is None else required & req
    merged = {"properties": props, "required": sorted(required or [])}
    if any(o.get("additionalProperties") not in (None, False) for o in objs):
        merged["additionalProperties"] = True
    return merged


def enum_of(schema):
    vs, _ = variants(schema)
    vals = []
    for v in vs:
        src = v.get("items", {}) if v.get("type") == "array" else v
        for e in src.get("enum", []):
            if isinstance(e, str) and e and e not in vals:
                vals.append(e)
    return vals


def param(name, schema, required, description, depth, location=None):
    p = {"n": name}
    if location:
        p["in"] = location
    p["t"] = type_of(schema)
    if required:
        p["r"] = 1
    _, unset = variants(schema)
    if unset:
        p["u"] = 1
    e = enum_of(schema)
    if e:
        p["e"] = e[:MAX_ENUM]
        if len(e) > MAX_ENUM:
            p["e"].append(f"…{len(e) - MAX_ENUM} more")
    desc = description or schema.get("description")
    if desc and name not in COMMON:
        d = first_sentence(desc, TOP_DESC if depth == 1 else NESTED_DESC)
        if d:
            p["d"] = d
    obj = object_of(schema)
    if obj is not None:
        props = obj.get("properties", {})
        req = set(obj.get("required", []))
        if depth < MAX_DEPTH:
            p["f"] = [
                param(k, v, k in req, None, depth + 1)
                for k, v in sorted(props.items())
            ]
        else:
            p["more"] = sorted(props)
        if obj.get("additionalProperties") not in (None, False):
            p["open"] = 1
    return p


def id_prefixes(fixtures):
    """Resource id -> id prefix, from the fixtures' example objects (`in_1Nn...` -> `in_`)."""
    out = {}
    for res, obj in (fixtures or {}).get("resources", {}).items():
        oid = obj.get("id") if isinstance(obj, dict) else None
        if not isinstance(oid, str) or "_" not in oid:
            continue
        parts = oid.split("_")
        keep = []
        for part in parts[:-1]:
            if part in ("test", "live"):
                break
            if not re.fullmatch(r"[a-z]+", part):
                break
            keep.append(part)
        rest = parts[len(keep)]
        # The random part has a digit or a capital; `card_payments` is a name, not an id.
        if keep and re.search(r"[0-9A-Z]", "_".join(parts[len(keep):])) and rest not in ("test", "live") or (keep and rest in ("test", "live")):
            out[res] = "_".join(keep) + "_"
    return out


def resource_of(op):
    schema = (
        op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    )
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def build(spec, fixtures):
    prefixes = id_prefixes(fixtures)
    schemas = spec.get("components", {}).get("schemas", {})
    paths = spec["paths"]

    def resource_id(name):
        s = schemas.get(name) or {}
        return s.get("x-resourceId", name)

    def path_param_prefix(path, pname):
        # The object a path parameter names is what the path up to it returns.
        cut = path[: path.index("{" + pname + "}") + len(pname) + 2]
        item = paths.get(cut, {})
        for m in ("get", "post", "delete"):
            if m in item:
                res = resource_of(item[m])
                if res and res.startswith("deleted_"):
                    res = res[len("deleted_"):]
                # A polymorphic answer (payment_source: a card, a bank account, ...) has no one prefix.
                if res and "properties" in schemas.get(res, {}):
                    return prefixes.get(resource_id(res))
        return None

    ops = []
    for path in sorted(paths):
        for method in ("get", "post", "delete"):
            op = paths[path].get(method)
            if op is None:
                continue
            params = []
            ids = {}
            for prm in op.get("parameters", []):
                if prm["in"] == "path":
                    pre = path_param_prefix(path, prm["name"])
                    if pre:
                        ids[prm["name"]] = pre
                    continue
                params.append(
                    param(prm["name"], prm.get("schema", {}), prm.get("required", False), prm.get("description"), 1, prm["in"] if prm["in"] != "query" else None)
                )
            body = op.get("requestBody", {}).get("content", {})
            form = body.get("application/x-www-form-urlencoded") or body.get("multipart/form-data")
            if form:
                schema = form.get("schema", {})
                req = set(schema.get("required", []))
                for k, v in sorted(schema.get("properties", {}).items()):
                    params.append(param(k, v, k in req, None, 1))
            params.sort(key=lambda p: (not p.get("r"), p["n"] in COMMON, p["n"]))
            o = {
                "m": method.upper(),
                "p": path,
                "s": first_sentence(op.get("summary") or op.get("description", ""), SUMMARY),
            }
            # Deprecated, or kept undocumented (`/v1/application_fees/{id}/refund`): still
            # callable, but not what a search should offer first.
            if op.get("deprecated") or not plain(op.get("description", "")):
                o["old"] = 1
            if ids:
                o["ids"] = ids
            if params:
                o["params"] = params
            ops.append(o)
    info = spec.get("info", {})
    return {
        "source": "Stripe OpenAPI " + info.get("version", "?"),
        "version": info.get("version", "?"),
        "ops": ops,
    }


def render(index):
    """One operation a line: small diffs when the description changes."""
    head = json.dumps({k: v for k, v in index.items() if k != "ops"}, ensure_ascii=False, separators=(",", ":"))
    lines = [json.dumps(o, ensure_ascii=False, separators=(",", ":")) for o in index["ops"]]
    return head[:-1] + ',"ops":[\n' + ",\n".join(lines) + "\n]}\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", help="Stripe's spec3*.json")
    ap.add_argument("--fixtures", help="Stripe's fixtures3.json: example objects, for the id prefixes")
    ap.add_argument("-o", "--out", default=os.path.join(here, "..", "src", "stripe", "api_index.json"), help="where to write ('-': stdout)")
    args = ap.parse_args()
    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    fixtures = None
    if args.fixtures:
        with open(args.fixtures, encoding="utf-8") as f:
            fixtures = json.load(f)
    text = render(build(spec, fixtures))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        n = text.count("\n") - 2
        print(f"{args.out}: {n} operations, {len(text.encode())} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
