#!/usr/bin/env bash
# test_openapi.sh - the server and docs/openapi.yaml agree: openapi_check.py sends
# a sample of real requests and validates every answer against the document. Then
# the same run against a copy of the document with one answer field removed must
# fail, so the check can tell when server and document disagree.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
tr_setup
tr_start_sink A --answer ok || tr_finish
tr_start_stack || tr_finish

spec="$TR_SOURCE_DIR/docs/openapi.yaml"
out=$(python3 "$here/openapi_check.py" "$TR_URL" "$SINK_A_URL" --spec "$spec" 2>&1)
rc=$?
grep '^not ok' <<<"$out"
check_eq "every sampled answer conforms to docs/openapi.yaml ($(grep -c '^ok' <<<"$out") checks)" 0 "$rc"

# A document that forgot Timer.ttl_ms (additionalProperties is false) must fail.
python3 - "$spec" "$TR_TMP/broken.yaml" <<'PY'
import json, sys
text = "".join(l for l in open(sys.argv[1]) if not l.startswith("#"))
d = json.loads(text)
del d["components"]["schemas"]["Timer"]["properties"]["ttl_ms"]
d["components"]["schemas"]["Timer"]["required"].remove("ttl_ms")
open(sys.argv[2], "w").write(json.dumps(d))
PY
tr_flush_keys
out=$(python3 "$here/openapi_check.py" "$TR_URL" "$SINK_A_URL" --spec "$TR_TMP/broken.yaml" 2>&1)
check "a document that disagrees with the server fails the check" test $? -ne 0
check "... naming the undocumented field" grep -q 'undocumented field ttl_ms' <<<"$out"

tr_stop_stack
tr_finish
