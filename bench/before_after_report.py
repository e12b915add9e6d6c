#!/usr/bin/env python3
"""before_after_report.py - the tables of bench/single_before_after.sh.

  before_after_report.py DIR

DIR holds, per tree NAME (base, head) and round R: NAME.R.create.jsonl
(bench/create_probe.sh --json: one line per wrk run, scenarios static, register,
batch) and NAME.R.drain.jsonl (bench/cluster_probe.sh --results: one run of
`single`, figures as bench/cluster_report.py computes them), and load.txt (the load
average before each probe). Prints markdown: per figure the median and the range
(min-max) of each tree, the spread (range over median), and head/base as the median
of the per-round ratios with their range. Standard library only.
"""
import glob
import json
import os
import re
import sys
from statistics import median

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_report import figures  # noqa: E402  (the drain figures, one definition)


def create_figs(path):
    """{scenario: figures} of one create_probe run."""
    out = {}
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        parts = r["cpu"]["parts"]
        timers = max(1, r["timers"])
        out[r["scenario"]] = {"rate": r["rate"], "timers": r["timers"], "errors": r["errors"],
                              "redis_us": 1e6 * parts.get("redis", 0.0) / timers,
                              "fcgi_us": 1e6 * parts.get("timerush-fcgi", 0.0) / timers,
                              "busy_us": 1e6 * r["cpu"]["busy"] / timers}
    return out


def drain_us_per_call(r):
    """Redis's µs per script call (EVALSHA, its inner commands included) over the
    drain (INFO commandstats): how dear the same scripts were in that minute."""
    calls, usec = r.get("cmdstats", {}).get("drain", {}).get("evalsha", (0, 0))
    return usec / calls if calls else 0.0


def load(d):
    """{tree: {round: {figure: value}}} and the lost/duplicate counts."""
    data, checks = {}, []
    for path in sorted(glob.glob(os.path.join(d, "*.*.create.jsonl"))):
        m = re.match(r"(\w+)\.(\d+)\.create\.jsonl$", os.path.basename(path))
        tree, rnd = m.group(1), int(m.group(2))
        c = create_figs(path)
        row = {"register/s": c["register"]["rate"],
               "register / nginx return 200": c["register"]["rate"] / c["static"]["rate"],
               "Redis µs per /register/ create": c["register"]["redis_us"],
               "fcgi µs per /register/ create": c["register"]["fcgi_us"],
               "batch timers/s (wrk, 1,000 a request)": 1000 * c["batch"]["rate"],
               "Redis µs per batch-created timer (wrk)": c["batch"]["redis_us"],
               "nginx return 200 /s": c["static"]["rate"]}
        with open(os.path.join(d, f"{tree}.{rnd}.drain.jsonl"), encoding="utf-8") as f:
            r = json.loads(f.readline())
        fg = figures(r)
        row.update({"batch create timers/s (curl, 100,000)": fg["create_rate"],
                    "Redis µs per created timer (100,000)": fg["m_c"],
                    "burst drain callbacks/s": fg["drain_rate"],
                    "Redis µs per delivered timer": fg["m_d"],
                    "scheduler µs per delivered timer": fg["sched_d"],
                    # The same work or not: counts, free of the CPU noise of a shared machine.
                    "Redis commands per created timer (100,000)": fg["cmds_c"],
                    "Redis commands per delivered timer": fg["cmds_d"],
                    "Redis µs per script call, drain (commandstats)": drain_us_per_call(r)})
        data.setdefault(tree, {})[rnd] = row
        checks.append((tree, rnd, r["lost"], r["dups"],
                       sum(len(v["errors"]) for v in c.values())))
    return data, checks


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    data, checks = load(d)
    base, head = data["base"], data["head"]
    rounds = sorted(set(base) & set(head))
    print(f"\n## Before/after, one Redis, --shards 1 ({len(rounds)} interleaved rounds)\n")
    print("| figure | base median (min-max) | spread | head median (min-max) | spread | "
          "head / base: median of per-round ratios (min-max) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for k in base[rounds[0]]:
        cells = []
        for t in (base, head):
            v = [t[r][k] for r in rounds]
            m = median(v)
            nd = 3 if m < 10 else (1 if m < 1000 else 0)
            cells.append(f"{m:,.{nd}f} ({min(v):,.{nd}f}-{max(v):,.{nd}f}) | "
                         f"{100 * (max(v) - min(v)) / m if m else 0:.0f}%")
        ratios = [head[r][k] / base[r][k] for r in rounds if base[r][k]]
        print(f"| {k} | " + " | ".join(cells) +
              f" | {median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}) |")
    print("\nPer round (load average before each probe in load.txt):\n")
    print("| round | tree | register/s | batch timers/s | drain/s | Redis µs / register, batch, delivered "
          "| lost, dups, wrk errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    ck = {(t, r): (lo, du, e) for t, r, lo, du, e in checks}
    for r in rounds:
        for name, t in (("base", base), ("head", head)):
            x = t[r]
            print(f"| {r} | {name} | {x['register/s']:,.0f} | "
                  f"{x['batch timers/s (wrk, 1,000 a request)']:,.0f} | "
                  f"{x['burst drain callbacks/s']:,.0f} | {x['Redis µs per /register/ create']:.1f}, "
                  f"{x['Redis µs per batch-created timer (wrk)']:.2f}, "
                  f"{x['Redis µs per delivered timer']:.1f} | {', '.join(map(str, ck[(name, r)]))} |")
    lost = sum(c[2] for c in checks)
    dups = sum(c[3] for c in checks)
    errs = sum(c[4] for c in checks)
    print(f"\nLost {lost}, duplicates {dups} over {len(checks)} drains; wrk error lines {errs}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
