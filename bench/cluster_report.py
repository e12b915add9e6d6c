#!/usr/bin/env python3
"""cluster_report.py - the figures of bench/cluster_probe.sh (one Redis against a
local Redis Cluster, issue 11).

  cluster_report.py run DIR CONFIG ROUND LOAD N CREATED T0 T1 TRESUME C0 C1 D0 D1 DUE
        one run as a JSON line: CPU seconds per part over the create phase
        (DIR/create.{a,b}.json, bench/proc_cpu.py snapshots) and the drain phase
        (DIR/drain.{a,b}.json); arrivals, span, lost and duplicates from the sink's
        log (DIR/sink.log); T0/T1 the create's start and end, TRESUME the resume
        (ms since the epoch); C0/C1 and D0/D1 the masters' commands processed
        before and after each phase, DUE the timers each master held after the
        create (comma-separated, masters in node order); DIR/{create,drain}.mI.txt,
        master I's INFO commandstats of each phase, when present.
  cluster_report.py line < RUN.json      the run's line of the probe's table
  cluster_report.py summary RESULTS.jsonl medians per configuration, the masters'
        commands, ratios, the split over the masters and the capacity model, as markdown

Parts: m0.. (masters), r0.. (replicas), scheduler, timerush-fcgi, nginx, sink,
"redis children (AOF rewrite)", busy (the whole machine). Standard library only.
"""
import json
import os
import re
import sys
from statistics import median

TICK = os.sysconf("SC_CLK_TCK")


def phase(d, name):
    """CPU seconds per part between DIR/NAME.a.json and DIR/NAME.b.json."""
    with open(f"{d}/{name}.a.json", encoding="ascii") as f:
        a = json.load(f)
    with open(f"{d}/{name}.b.json", encoding="ascii") as f:
        b = json.load(f)
    parts = {}
    for part, pids in b.items():
        if part == "_machine":
            continue
        used = sum(t - a[part][p] for p, t in pids.items()
                   if t is not None and a.get(part, {}).get(p) is not None)
        parts[part] = used / TICK
    parts["busy"] = (b["_machine"]["busy"] - a["_machine"]["busy"]) / TICK
    return parts


def run(argv):
    d, cfg, rnd, load = argv[0], argv[1], int(argv[2]), float(argv[3])
    n, created, t0, t1, tr = (int(x) for x in argv[4:9])
    ints = lambda s: [int(x) for x in s.split(",") if x]
    c0, c1, d0, d1, due = (ints(s) for s in argv[9:14])
    keys, ts = {}, []
    with open(f"{d}/sink.log", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            ts.append(r["t_us"])
            keys[r["key"]] = keys.get(r["key"], 0) + 1
    cmd = {}
    for ph in ("create", "drain"):
        cmd[ph] = {}
        i = 0
        while os.path.exists(f"{d}/{ph}.m{i}.txt"):
            # cmdstat_evalsha:calls=N,usec=U,...: summed over the masters.
            with open(f"{d}/{ph}.m{i}.txt", encoding="utf-8") as f:
                for m in re.finditer(r"^cmdstat_([^:]+):calls=(\d+),usec=(\d+)", f.read(), re.M):
                    c = cmd[ph].setdefault(m.group(1), [0, 0])
                    c[0] += int(m.group(2))
                    c[1] += int(m.group(3))
            i += 1
    print(json.dumps({
        "cmdstats": cmd,
        "cfg": cfg, "round": rnd, "load": load, "n": n, "created": created,
        "create_s": (t1 - t0) / 1000.0,
        "drain_span_s": (max(ts) - min(ts)) / 1e6 if len(ts) > 1 else 0.0,
        "resume_to_last_s": (max(ts) / 1000.0 - tr) / 1000.0 if ts else 0.0,
        "got": len(ts), "lost": n - len(keys), "dups": sum(c - 1 for c in keys.values()),
        "cpu_create": phase(d, "create"), "cpu_drain": phase(d, "drain"),
        "cmds_create": [b - a for a, b in zip(c0, c1)],
        "cmds_drain": [b - a for a, b in zip(d0, d1)], "due": due}))


def role(parts, r):
    """The nodes of role r ('m' or 'r') in order: [(name, CPU s)]."""
    names = sorted((k for k in parts if re.fullmatch(r + r"\d+", k)), key=lambda k: int(k[1:]))
    return [(k, parts[k]) for k in names]


def figures(r):
    """Per-timer figures of one run (µs of CPU, rates)."""
    cr, dl = max(1, r["created"]), max(1, r["got"])
    pc, pd = r["cpu_create"], r["cpu_drain"]
    us_c = lambda v: v * 1e6 / cr
    us_d = lambda v: v * 1e6 / dl
    return {
        "create_rate": r["created"] / r["create_s"] if r["create_s"] else 0.0,
        "drain_rate": (r["got"] - 1) / r["drain_span_s"] if r["drain_span_s"] else 0.0,
        "m_c": us_c(sum(v for _, v in role(pc, "m"))),
        "m_d": us_d(sum(v for _, v in role(pd, "m"))),
        "r_c": us_c(sum(v for _, v in role(pc, "r"))),
        "r_d": us_d(sum(v for _, v in role(pd, "r"))),
        "aof_c": us_c(pc.get("redis children (AOF rewrite)", 0.0)),
        "aof_d": us_d(pd.get("redis children (AOF rewrite)", 0.0)),
        "fcgi_c": us_c(pc.get("timerush-fcgi", 0.0)),
        "nginx_c": us_c(pc.get("nginx", 0.0)),
        "sched_d": us_d(pd.get("scheduler", 0.0)),
        "sink_d": us_d(pd.get("sink", 0.0)),
        "busy_c": us_c(pc["busy"]),
        "cmds_c": sum(r["cmds_create"]) / cr,
        "cmds_d": sum(r["cmds_drain"]) / dl,
        "busy_d": us_d(pd["busy"]),
        # Share of one core over the phase's wall time.
        "sched_util": pd.get("scheduler", 0.0) / r["resume_to_last_s"] if r["resume_to_last_s"] else 0.0,
        "m_util_d": max((v for _, v in role(pd, "m")), default=0.0) / r["resume_to_last_s"]
        if r["resume_to_last_s"] else 0.0,
        "m_util_c": max((v for _, v in role(pc, "m")), default=0.0) / r["create_s"]
        if r["create_s"] else 0.0,
    }


def line():
    r = json.loads(sys.stdin.read())
    f = figures(r)
    print("%-8s %5d %6.1f %9.0f %9.0f %8.2f %8.2f %6d %5d" % (
        r["cfg"], r["round"], r["load"], f["create_rate"], f["drain_rate"], f["m_c"], f["m_d"],
        r["lost"], r["dups"]))


def fmt(v, nd=1):
    return f"{v:,.{nd}f}"


def summary(path):
    runs = [json.loads(x) for x in open(path, encoding="utf-8") if x.strip()]
    cfgs = list(dict.fromkeys(r["cfg"] for r in runs))
    by = {c: [r for r in runs if r["cfg"] == c] for c in cfgs}
    fig = {c: [figures(r) for r in by[c]] for c in cfgs}
    med = {c: {k: median(f[k] for f in fig[c]) for k in fig[c][0]} for c in cfgs}
    n = runs[0]["n"]
    print(f"\n## Medians over {max(r['round'] for r in runs)} rounds ({n:,} timers a run)\n")
    print("| config | create timers/s | drain callbacks/s | masters' µs / created | "
          "masters' µs / delivered | replicas' µs / created, delivered | AOF child µs / created | "
          "fcgi µs / created | scheduler µs / delivered | sink µs / delivered | "
          "machine µs / created, delivered | masters' commands / created, delivered | lost | dups |")
    print("| --- |" + " ---: |" * 13)
    for c in cfgs:
        m = med[c]
        print(f"| {c} | {fmt(m['create_rate'], 0)} | {fmt(m['drain_rate'], 0)} | {fmt(m['m_c'], 2)} | "
              f"{fmt(m['m_d'], 2)} | {fmt(m['r_c'], 2)}, {fmt(m['r_d'], 2)} | {fmt(m['aof_c'], 2)} | "
              f"{fmt(m['fcgi_c'], 2)} | {fmt(m['sched_d'], 2)} | {fmt(m['sink_d'], 2)} | "
              f"{fmt(m['busy_c'], 2)}, {fmt(m['busy_d'], 2)} | {m['cmds_c']:.3f}, {m['cmds_d']:.3f} | "
              f"{sum(r['lost'] for r in by[c])} | {sum(r['dups'] for r in by[c])} |")
    print("\nPer run (rates, masters' µs per created / delivered timer):\n")
    print("| config | round (load) | create/s | drain/s | m µs/created | m µs/delivered |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for c in cfgs:
        for r, f in zip(by[c], fig[c]):
            print(f"| {c} | {r['round']} ({r['load']:.1f}) | {fmt(f['create_rate'], 0)} | "
                  f"{fmt(f['drain_rate'], 0)} | {fmt(f['m_c'], 2)} | {fmt(f['m_d'], 2)} |")

    # Ratios: medians, and the median of the per-round ratios (paired rounds).
    # What the masters ran (INFO commandstats, summed over the masters): the five
    # commands of most time per phase, calls per timer and µs per call (medians).
    for ph, per in (("create", "created"), ("drain", "got")):
        if not all(r.get("cmdstats", {}).get(ph) for r in runs):
            continue
        print(f"\n## The masters' commands, {ph} phase (INFO commandstats; calls per timer, µs per call)\n")
        print("| config | the five commands of most Redis time |")
        print("| --- | --- |")
        for c in cfgs:
            tot = {}
            for r in by[c]:
                for k, (calls, usec) in r["cmdstats"][ph].items():
                    tot.setdefault(k, []).append((calls / max(1, r[per]), usec / calls if calls else 0.0,
                                                  usec / max(1, r[per])))
            top = sorted(tot.items(), key=lambda kv: -median(x[2] for x in kv[1]))[:5]
            print(f"| {c} | " + "; ".join(
                f"{k} {median(x[0] for x in v):.3f} x {median(x[1] for x in v):.1f} µs"
                for k, v in top) + " |")

    # Each configuration against each one-Redis configuration before it in the list,
    # and a variant (cl3+w1, cl3+s2) against its configuration without the suffix.
    bases = [b for b in cfgs if not b.startswith("cl")]
    pairs_of = [(c, b) for c in cfgs for b in bases if cfgs.index(b) < cfgs.index(c)]
    pairs_of += [(c, c.split("+")[0]) for c in cfgs if "+" in c and c.split("+")[0] in cfgs]
    print("\n## Ratios (median of the per-round ratios; ratio of the medians in brackets)\n")
    print("| figure | " + " | ".join(f"{c} / {b}" for c, b in pairs_of) + " |")
    print("| --- |" + " ---: |" * len(pairs_of))
    for key, label in (("m_c", "masters' CPU per created timer"), ("m_d", "masters' CPU per delivered timer"),
                       ("create_rate", "create rate"), ("drain_rate", "drain rate")):
        cells = []
        for c, b in pairs_of:
            base = {r["round"]: f[key] for r, f in zip(by[b], fig[b])}
            rs = [f[key] / base[r["round"]] for r, f in zip(by[c], fig[c]) if base.get(r["round"])]
            cells.append(f"{median(rs):.3f} ({med[c][key] / med[b][key]:.3f})"
                         if rs and med[b][key] else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")

    # The split over the masters of each cluster configuration with more than one.
    for c in cfgs:
        nm = len(by[c][0]["due"])
        if not c.startswith("cl") or nm < 2:
            continue
        print(f"\n## {c}: the split over its {nm} masters (medians over the rounds; shares of the masters' sum)\n")
        print("| master (node order) | timers held | CPU, create | CPU, drain | commands, create | "
              "commands, drain | busy (of one core), create / drain |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for i in range(nm):
            share = lambda vals: 100.0 * vals[i] / sum(vals) if sum(vals) else 0.0
            cpu = lambda r, ph: [v for _, v in role(r[ph], "m")]
            cols = [median(share(r["due"]) for r in by[c]),
                    median(share(cpu(r, "cpu_create")) for r in by[c]),
                    median(share(cpu(r, "cpu_drain")) for r in by[c]),
                    median(share(r["cmds_create"]) for r in by[c]),
                    median(share(r["cmds_drain"]) for r in by[c])]
            util = (median(cpu(r, "cpu_create")[i] / r["create_s"] for r in by[c]),
                    median(cpu(r, "cpu_drain")[i] / r["resume_to_last_s"] for r in by[c]))
            print(f"| m{i} | " + " | ".join(f"{v:.1f}%" for v in cols) +
                  f" | {100 * util[0]:.0f}% / {100 * util[1]:.0f}% |")

    # The capacity model: Redis-bound rate per master x masters, limited by the
    # busiest master's share; and the other ceilings these figures give.
    print("\n## Capacity model (from the medians; one core per process assumed)\n")
    print("| config | Redis-bound create/s, drain/s (busiest master) | ... if the split were even | "
          "one scheduler's drain/s | 2-core machine create/s, drain/s | measured create/s, drain/s | "
          "scheduler busy during the drain | busiest master busy, create / drain |")
    print("| --- |" + " ---: |" * 7)
    for c in cfgs:
        m = med[c]
        shares = []
        for r in by[c]:
            cpu = [v for _, v in role(r["cpu_drain"], "m")] or [1.0]
            cc = [v for _, v in role(r["cpu_create"], "m")] or [1.0]
            shares.append((max(cc) / sum(cc) if sum(cc) else 1.0, max(cpu) / sum(cpu) if sum(cpu) else 1.0))
        fc, fd = median(s[0] for s in shares), median(s[1] for s in shares)
        cap = lambda us, f: 1e6 / (us * f) if us > 0 and f > 0 else 0.0
        nm = len(by[c][0]["due"])
        print(f"| {c} | {fmt(cap(m['m_c'], fc), 0)}, {fmt(cap(m['m_d'], fd), 0)} | "
              f"{fmt(cap(m['m_c'], 1 / nm), 0)}, {fmt(cap(m['m_d'], 1 / nm), 0)} | "
              f"{fmt(cap(m['sched_d'], 1), 0)} | {fmt(cap(m['busy_c'], 0.5), 0)}, {fmt(cap(m['busy_d'], 0.5), 0)} | "
              f"{fmt(m['create_rate'], 0)}, {fmt(m['drain_rate'], 0)} | {100 * m['sched_util']:.0f}% | "
              f"{100 * m['m_util_c']:.0f}% / {100 * m['m_util_d']:.0f}% |")


def main():
    if len(sys.argv) == 16 and sys.argv[1] == "run":
        run(sys.argv[2:])
    elif len(sys.argv) == 2 and sys.argv[1] == "line":
        line()
    elif len(sys.argv) == 3 and sys.argv[1] == "summary":
        summary(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
