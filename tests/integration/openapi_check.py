#!/usr/bin/env python3
"""openapi_check.py BASE_URL SINK_URL [--spec FILE] - REST answers vs docs/openapi.yaml.

Sends a sample of real requests (every path, success and error answers) and checks
each answer: its status is declared for that path and method, its Content-Type is
the declared one, and its body validates against the declared schema. Request
bodies that should be valid are validated against the request schema too. Standard
library only: docs/openapi.yaml is written as JSON (a subset of YAML) after '#'
comment lines, and the validator knows the JSON Schema subset the file uses
($ref, type, nullable, enum, required, properties, additionalProperties, items,
oneOf, minimum, maximum, minItems, maxItems, pattern). Prints one "ok"/"not ok"
line per check; exit 1 when any failed.
"""
import json
import re
import sys
import urllib.error
import urllib.request

failed = 0


def report(ok, desc, why=""):
    global failed
    if ok:
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - %s (%s)" % (desc, why))


def load_spec(path):
    with open(path) as f:
        text = "".join(l for l in f if not l.startswith("#"))
    return json.loads(text)


def resolve(spec, ref):
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def validate(spec, schema, value, where="$"):
    """Returns a list of problems (empty when value conforms)."""
    if "$ref" in schema:
        return validate(spec, resolve(spec, schema["$ref"]), value, where)
    if value is None:
        return [] if schema.get("nullable") else ["%s: null not allowed" % where]
    if "oneOf" in schema:
        n = sum(1 for s in schema["oneOf"] if not validate(spec, s, value, where))
        return [] if n == 1 else ["%s: matches %d of oneOf" % (where, n)]
    t = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return ["%s: %r is not an integer" % (where, value)]
    elif t == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return ["%s: %r is not a number" % (where, value)]
    elif t in types and not isinstance(value, types[t]):
        return ["%s: %r is not %s" % (where, value, t)]
    errs = []
    if "enum" in schema and value not in schema["enum"]:
        errs.append("%s: %r not in %r" % (where, value, schema["enum"]))
    if "minimum" in schema and value < schema["minimum"]:
        errs.append("%s: %r < %r" % (where, value, schema["minimum"]))
    if "maximum" in schema and value > schema["maximum"]:
        errs.append("%s: %r > %r" % (where, value, schema["maximum"]))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errs.append("%s: %r does not match %s" % (where, value, schema["pattern"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for r in schema.get("required", []):
            if r not in value:
                errs.append("%s: missing %s" % (where, r))
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errs += validate(spec, props[k], v, where + "." + k)
            elif extra is False:
                errs.append("%s: undocumented field %s" % (where, k))
            elif isinstance(extra, dict):
                errs += validate(spec, extra, v, where + "." + k)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1 << 30):
            errs.append("%s: %d items out of bounds" % (where, len(value)))
        for i, v in enumerate(value):
            errs += validate(spec, schema.get("items", {}), v, "%s[%d]" % (where, i))
    return errs


def template_of(spec, path):
    for tpl in spec["paths"]:
        rx = "^" + re.sub(r"\{[^}]+\}", "[^/]+", tpl) + "$"
        if re.match(rx, path.split("?")[0]):
            # A literal path beats a template (/v1/timers/batch vs /v1/timers/{key}).
            if "{" not in tpl:
                return tpl
            best = tpl
    return locals().get("best")


def call(base, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def check(spec, base, method, path, body=None, want=None, headers=None, valid_request=True):
    tpl = template_of(spec, path)
    desc = "%s %s" % (method, path if len(path) < 60 else path[:57] + "...")
    op = spec["paths"].get(tpl, {}).get(method.lower()) if tpl else None
    if op is None:
        report(False, desc, "not in the document")
        return None
    if body is not None and valid_request:
        rs = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        probs = validate(spec, rs, body) if rs else ["no request schema"]
        report(not probs, desc + ": request conforms", "; ".join(probs[:3]))
    status, ctype, text = call(base, method, path, body, headers)
    if want is not None and status != want:
        report(False, desc, "HTTP %d, the sample expects %d: %s" % (status, want, text[:200]))
        return None
    decl = op["responses"].get(str(status))
    if decl is None:
        report(False, desc, "HTTP %d is not declared" % status)
        return None
    content = decl.get("content", {})
    mt = next(iter(content), None)
    if mt is None:
        report(text == "", desc, "undeclared body")
        return None
    if not ctype.split(";")[0].strip() == mt:
        report(False, desc, "Content-Type %s, declared %s" % (ctype, mt))
        return None
    value = json.loads(text) if mt == "application/json" else text
    probs = validate(spec, content[mt]["schema"], value)
    report(not probs, "%s -> %d conforms" % (desc, status), "; ".join(probs[:3]))
    return value


def main():
    args = sys.argv[1:]
    spec_path = "docs/openapi.yaml"
    if "--spec" in args:
        i = args.index("--spec")
        spec_path = args[i + 1]
        del args[i:i + 2]
    base, sink = args[0], args[1]
    spec = load_spec(spec_path)
    t = {"key": "oa-1", "url": sink + "/oa", "data": {"x": 1}, "delay_ms": 600000,
         "headers": {"X-A": "b"}, "retry": {"max_attempts": 3, "min_backoff_ms": 5,
                                            "max_backoff_ms": 50}, "timeout_ms": 500,
         "failure_url": sink + "/f", "chain_limit": 2}
    check(spec, base, "POST", "/v1/timers", t, 201)
    check(spec, base, "POST", "/v1/timers", t, 200)
    check(spec, base, "POST", "/v1/timers", dict(t, data="other"), 409)
    check(spec, base, "POST", "/v1/timers", {"url": sink + "/r", "data": "r", "every_ms": 600000,
                                             "count": 2, "until": "2030-01-01T00:00:00Z"}, 201)
    check(spec, base, "POST", "/v1/timers", {"url": sink + "/c", "data": [1], "cron": "0 * * * *"}, 201)
    check(spec, base, "POST", "/v1/timers", {"url": 5, "data": "x", "delay_ms": 1}, 400,
          valid_request=False)
    check(spec, base, "POST", "/v1/timers/batch",
          {"timers": [{"url": sink + "/b", "data": "1", "seconds": 600},
                      {"url": sink + "/b", "data": "2", "delay_ms": 1, "at": 1}]}, 200,
          valid_request=False)
    check(spec, base, "GET", "/v1/timers/oa-1", want=200)
    check(spec, base, "GET", "/v1/timers/nope", want=404)
    check(spec, base, "GET", "/v1/timers?limit=2", want=200)
    check(spec, base, "GET", "/v1/timers?state=dead", want=200)
    check(spec, base, "GET", "/v1/timers?limit=0", want=400)
    check(spec, base, "POST", "/v1/timers/oa-1/reschedule", {"seconds": 700}, 200)
    check(spec, base, "POST", "/v1/timers/oa-1/replay", want=404)
    check(spec, base, "POST", "/v1/pause", want=200)
    check(spec, base, "GET", "/v1/stats", want=200)
    check(spec, base, "POST", "/v1/resume", want=200)
    check(spec, base, "DELETE", "/v1/timers/oa-1", want=200)
    check(spec, base, "GET", "/healthz", want=200)
    check(spec, base, "GET", "/metrics", want=200)
    print("%s" % ("conformance: FAILED" if failed else "conformance: ok"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
