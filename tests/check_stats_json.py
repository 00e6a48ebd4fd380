#!/usr/bin/env python3
"""check_stats_json.py - validates spillway statistics documents against
docs/stats-schema.json (the JSON Schema subset it uses: type, const, enum,
minimum, required, properties, additionalProperties, items, anyOf, $ref) and
checks the cross-field rules of docs/STATS_SCHEMA.md.

usage: check_stats_json.py SCHEMA.json stats|bench FILE.json
Exit 0 when valid; 1 with one line per problem otherwise. Standard library only.
"""
import json
import math
import sys

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def validate(schema, v, path, root, errs):
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        validate(root["definitions"][name], v, path, root, errs)
    if "anyOf" in schema:
        for alt in schema["anyOf"]:
            sub = []
            validate(alt, v, path, root, sub)
            if not sub:
                break
        else:
            errs.append("%s: matches none of the alternatives" % path)
            return
    if "const" in schema and v != schema["const"]:
        errs.append("%s: expected %r, got %r" % (path, schema["const"], v))
    if "enum" in schema and v not in schema["enum"]:
        errs.append("%s: %r not in %r" % (path, v, schema["enum"]))
    if "type" in schema:
        ts = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](v) for t in ts):
            errs.append("%s: expected %s, got %r" % (path, "|".join(ts), v))
            return
    if "minimum" in schema and TYPES["number"](v) and v < schema["minimum"]:
        errs.append("%s: %r below the minimum %r" % (path, v, schema["minimum"]))
    if isinstance(v, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in v:
                errs.append("%s: missing key %r" % (path, k))
        for k, x in v.items():
            if k in props:
                validate(props[k], x, "%s.%s" % (path, k), root, errs)
            elif schema.get("additionalProperties", True) is False:
                errs.append("%s: unexpected key %r" % (path, k))
    if isinstance(v, list) and "items" in schema:
        for i, x in enumerate(v):
            validate(schema["items"], x, "%s[%d]" % (path, i), root, errs)


def close(a, b, rel, absolute):
    return abs(a - b) <= rel * max(abs(a), abs(b)) + absolute


def check_stats(d, path, errs):
    """Cross-field rules of a spillway-stats document."""
    if d["n_tables"] <= 64 and d["n_tables"] != len(d["tables"]):
        errs.append("%s: n_tables %d but %d tables listed" % (path, d["n_tables"], len(d["tables"])))
    names = [t["name"] for t in d["tables"]]
    for t in d["tables"]:
        if t["rows"] != 1 << t["log_rows"]:
            errs.append("%s: table %s rows %d != 2^%d" % (path, t["name"], t["rows"], t["log_rows"]))
    rsum = 0.0
    for r in d["rounds"]:
        rsum += r["seconds"]
        part = sum(x["seconds"] for x in r["tables"]) + r["other_seconds"]
        for x in r["tables"]:
            if x["table"] not in names:
                errs.append("%s: round %s names unknown table %s" % (path, r["name"], x["table"]))
        # rounds of a path that gives no progress reports have no breakdown
        if part > 0 and not close(part, r["seconds"], 0.25, 0.02):
            errs.append("%s: round %s: tables+other %.4f s vs round %.4f s"
                        % (path, r["name"], part, r["seconds"]))
    if not close(rsum, d["total_seconds"], 0.05, 0.01):
        errs.append("%s: rounds sum to %.4f s, total %.4f s" % (path, rsum, d["total_seconds"]))
    for l in d["links"]:
        if l["seconds"] and l["achieved_gbps"] is not None and \
                not close(l["achieved_gbps"], l["bytes"] / l["seconds"] / 1e9, 1e-3, 1e-9):
            errs.append("%s: link %s: achieved_gbps inconsistent with bytes/seconds" % (path, l["name"]))
    if not any(t["name"] == "host" for t in d["tiers"]):
        errs.append("%s: no host tier" % path)


def check_bench(d, errs):
    for i, p in enumerate(d["points"]):
        path = "points[%d](%s)" % (i, p["id"])
        if p["vram_budget_bytes"] is not None and p["backend"] != "cuda":
            errs.append("%s: a VRAM budget on a %s point" % (path, p["backend"]))
        if p["ok"]:
            if p["stats"] is None or p["median_seconds"] is None:
                errs.append("%s: ok point without stats or median" % path)
                continue
            if len(p["seconds"]) != p["repeats"] or len(p["peak_rss_bytes"]) != p["repeats"] \
                    or len(p["cpu_seconds"]) != p["repeats"]:
                errs.append("%s: %d repeats but %d times" % (path, p["repeats"], len(p["seconds"])))
            if p["repeats"] != d["repeat"]:
                errs.append("%s: %d repeats, matrix asked for %d" % (path, p["repeats"], d["repeat"]))
            if not (p["min_seconds"] <= p["median_seconds"] <= p["max_seconds"]):
                errs.append("%s: min/median/max out of order" % path)
            if min(p["seconds"]) != p["min_seconds"] or max(p["seconds"]) != p["max_seconds"]:
                errs.append("%s: min/max do not match the times" % path)
            s = sorted(p["seconds"])
            n = len(s)
            med = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
            if not close(med, p["median_seconds"], 1e-4, 1e-6):
                errs.append("%s: median %.6f, times give %.6f" % (path, p["median_seconds"], med))
            if p["stats"]["blowup"] != p["blowup"] or p["stats"]["backend"] != p["backend"]:
                errs.append("%s: stats disagree with the point (blowup/backend)" % path)
            # the device tiers (resident arena "device", streaming tier
            # "vram") run under the point's VRAM budget and stay within it
            for t in p["stats"]["tiers"]:
                if t["name"] not in ("device", "vram"):
                    continue
                if p["vram_budget_bytes"] is not None and t["budget_bytes"] != p["vram_budget_bytes"]:
                    errs.append("%s: tier %s budget %r, point's VRAM budget %d"
                                % (path, t["name"], t["budget_bytes"], p["vram_budget_bytes"]))
                if t["budget_bytes"] is not None and t["peak_bytes"] > t["budget_bytes"]:
                    errs.append("%s: tier %s peak %d above its budget %d"
                                % (path, t["name"], t["peak_bytes"], t["budget_bytes"]))
            rows = sum(t["rows"] for t in p["stats"]["tables"])
            if p["stats"]["n_tables"] <= 64 and rows != p["rows"]:
                errs.append("%s: rows %d, tables sum to %d" % (path, p["rows"], rows))
            check_stats(p["stats"], path + ".stats", errs)
        elif p["error"] is None:
            errs.append("%s: failed point without an error message" % path)


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in ("stats", "bench"):
        sys.stderr.write(__doc__)
        return 2
    root = json.load(open(sys.argv[1]))
    with open(sys.argv[3]) as f:
        doc = json.load(f)
    errs = []
    validate(root["definitions"][sys.argv[2]], doc, "$", root, errs)
    if not errs:
        if sys.argv[2] == "stats":
            check_stats(doc, "$", errs)
        else:
            check_bench(doc, errs)
    for e in errs:
        print("%s: %s" % (sys.argv[3], e))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
