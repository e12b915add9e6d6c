#!/usr/bin/env bash
# Which commit range moved the /register/ figures of before-after/ (docs/BENCHMARKS.md,
# "2026-12-02: issue 11's unmeasured benchmarks"): bench/create_probe.sh --only
# static,register on several trees, interleaved (the order turns each round).
#   bench/results/2026-12-02-clbench2/bisect.sh ROUNDS NAME=TREE:BUILD...
# e.g. base=/work/wt-b3fb0f5:/work/wt-b3fb0f5/build-rel (a worktree per commit, its
# fcgi and scheduler built: cmake --build BUILD --target timerush-fcgi timerush-scheduler).
# Output: bisect/NAME.ROUND.create.{jsonl,md,err}, bisect/load.txt, the summary on stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
rounds=$1
shift
out=$here/bisect
mkdir -p "$out"
trees=("$@")
for ((r = 1; r <= rounds; r++)); do
    for ((i = 0; i < ${#trees[@]}; i++)); do
        t=${trees[(i + r) % ${#trees[@]}]}
        name=${t%%=*} tb=${t#*=}
        echo "$name $r $(date -u +%T) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/load.txt"
        "$src/bench/create_probe.sh" --tree "${tb%%:*}" --build-dir "${tb#*:}" --only static,register \
            --reps 1 --secs 5 --json "$out/$name.$r.create.jsonl" \
            >"$out/$name.$r.create.md" 2>"$out/$name.$r.create.err"
    done
done
python3 - "$out" "${trees[@]%%=*}" <<'PY'
import glob, json, os, sys
from statistics import median
out, names = sys.argv[1], sys.argv[2:]
print("| tree | register/s | register / return 200 | Redis µs / create | fcgi µs / create | "
      "script calls / create | rounds |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for n in names:
    rows = []
    for p in sorted(glob.glob(os.path.join(out, f"{n}.*.create.jsonl"))):
        s = {r["scenario"]: r for r in map(json.loads, open(p))}
        g, st = s["register"], s["static"]
        t = max(1, g["timers"])
        rows.append((g["rate"], g["rate"] / st["rate"], 1e6 * g["cpu"]["parts"]["redis"] / t,
                     1e6 * g["cpu"]["parts"]["timerush-fcgi"] / t,
                     g["cmdstats"].get("evalsha", [0, 0])[0] / t))
    cells = []
    for k in range(5):
        v = [r[k] for r in rows]
        nd = 0 if median(v) > 100 else (1 if median(v) > 1 else 3)
        cells.append(f"{median(v):,.{nd}f} ({min(v):,.{nd}f}-{max(v):,.{nd}f})")
    print(f"| {n} | " + " | ".join(cells) + f" | {len(rows)} |")
PY
