#!/usr/bin/env python3
"""bench/instr_report.py - reads bench/instr_before_after.sh's callgrind dumps.

  instr_report.py run DIR TAG ROUND LOAD REG N T0 T1 T2 T3 T4   one run's JSON line
  instr_report.py line                                          that line, readable (stdin)
  instr_report.py report OUTDIR                                 medians and head/base ratios

A run's DIR/cg holds KIND.PID.K for K = 1..4 (idle, register, batch, drain), each a
callgrind dump whose `summary:` line is the instructions (Ir) that process ran since
the previous dump. KIND is redis, fcgi or scheduler; a kind's processes are summed.
"""
import glob
import json
import os
import re
import statistics
import sys

PHASES = ["idle", "register", "batch", "drain"]
KINDS = ["redis", "fcgi", "scheduler"]


def summary(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise SystemExit("%s: no summary line" % path)


def run(argv):
    d, tag, rnd, load, reg, n = argv[0], argv[1], int(argv[2]), float(argv[3]), int(argv[4]), int(argv[5])
    t = [int(x) for x in argv[6:11]]
    ir = {k: {p: 0 for p in PHASES} for k in KINDS}
    procs = {k: 0 for k in KINDS}
    for path in glob.glob(os.path.join(d, "cg", "*.*.*")):
        m = re.fullmatch(r"(redis|fcgi|scheduler)\.(\d+)\.(\d+)", os.path.basename(path))
        if not m:
            continue
        k, dump = m.group(1), int(m.group(3))
        if dump == 1:
            procs[k] += 1
        if 1 <= dump <= 4:
            ir[k][PHASES[dump - 1]] += summary(path)
    for k in KINDS:
        if procs[k] == 0:
            raise SystemExit("%s: no callgrind dumps of %s" % (d, k))
    ms = {p: t[i + 1] - t[i] for i, p in enumerate(PHASES)}
    count = {"idle": 1, "register": reg, "batch": n, "drain": reg + n}
    per = {}
    for k in KINDS:
        per[k] = {p: ir[k][p] / count[p] for p in PHASES if count[p] > 0}
        # The idle phase as instructions per second of background.
        per[k]["idle"] = ir[k]["idle"] * 1000.0 / max(ms["idle"], 1)
    print(json.dumps({"tag": tag, "round": rnd, "load": load, "register": reg, "n": n,
                      "ms": ms, "ir": ir, "procs": procs, "per": per}, sort_keys=True))


def fmt(x):
    return "{:,.0f}".format(x)


def line(rec):
    parts = ["%s r%d load %.1f" % (rec["tag"], rec["round"], rec["load"])]
    for p in PHASES:
        unit = "/s" if p == "idle" else "/timer"
        parts.append("%s %.1f s: " % (p, rec["ms"][p] / 1000.0) +
                     " ".join("%s %s%s" % (k, fmt(rec["per"][k].get(p, 0)), unit) for k in KINDS))
    return "; ".join(parts)


def report(outdir):
    recs = [json.loads(l) for l in open(os.path.join(outdir, "results.jsonl")) if l.strip()]
    rows = []
    for p in PHASES[1:] + ["idle"]:
        for k in KINDS + ["all"]:
            rows.append((p, k))

    def val(rec, p, k):
        if k == "all":
            return sum(rec["per"][kk].get(p, 0) for kk in KINDS)
        return rec["per"][k].get(p, 0)

    by = {tag: sorted([r for r in recs if r["tag"] == tag], key=lambda r: r["round"])
          for tag in ("base", "head")}
    print("instructions (callgrind Ir) per created timer (register, batch), per delivered timer")
    print("(drain), per second of the idle phase; median over rounds [each round], head/base")
    print("ratio of the medians and the per-round ratios:")
    print("| phase | process | base | head | head/base | per round |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for p, k in rows:
        b = [val(r, p, k) for r in by["base"]]
        h = [val(r, p, k) for r in by["head"]]
        if not b or not h or (p == "register" and by["base"][0]["register"] == 0):
            continue
        mb, mh = statistics.median(b), statistics.median(h)
        ratios = [hh / bb for bb, hh in zip(b, h) if bb > 0]
        print("| %s | %s | %s | %s | %.3f | %s |" % (
            p, k, fmt(mb), fmt(mh), mh / mb if mb else float("nan"),
            " ".join("%.3f" % x for x in ratios)))
    for tag in ("base", "head"):
        for r in by[tag]:
            print("# " + line(r))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd = sys.argv[1]
    if cmd == "run" and len(sys.argv) == 13:
        run(sys.argv[2:])
    elif cmd == "line":
        for l in sys.stdin:
            if l.strip():
                print(line(json.loads(l)))
    elif cmd == "report" and len(sys.argv) == 3:
        report(sys.argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
