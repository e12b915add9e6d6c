#!/usr/bin/env python3
"""create_peer_report.py WORK_DIR - the markdown report of bench/create_peer.sh.

Reads WORK_DIR/meta (key=value) and, for each scenario S and run I,
S.I.wrk (wrk --latency output), S.I.cpu.json (proc_cpu.py diffjson), S.I.stored
(the store's count before and after) and S.I.load (load averages before and after).
Prints markdown on stdout. Exit status 1 when any run of any scenario had a socket
error, a timeout, a non-2xx answer, no answer at all, or fewer timers stored than
2xx answers; 0
otherwise (the goals of issue 10 are reported, not enforced). Standard library only.
"""
import json
import os
import re
import sys

# proc_cpu.py parts that make up each stack, in the order quoted.
PARTS = {
    "static": [("nginx", ["nginx-static"])],
    "bullmq": [("node", ["node"]),
               ("redis", ["peer-redis", "peer-redis children (AOF rewrite)"])],
    "timerush": [("timerush-fcgi", ["timerush-fcgi"]),
                 ("redis", ["redis", "redis children (AOF rewrite)"]),
                 ("nginx", ["nginx"])],
}
# Running beside the TimeRush stack but outside the goal's sum (FastCGI + Redis + nginx).
ASIDE = {"timerush": [("scheduler", ["scheduler"])]}

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    return float(m.group(1)) * UNIT[m.group(2)] if m else None


def parse_wrk(path):
    r = {"rps": 0.0, "requests": 0, "p50": None, "p99": None, "max": None,
         "connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0, "ok": False}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return r
    if m := re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M):
        r["rps"] = float(m.group(1))
        r["ok"] = True
    if m := re.search(r"^\s*(\d+) requests in", text, re.M):
        r["requests"] = int(m.group(1))
    if m := re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M):
        r["max"] = ms(m.group(3))
    for pct in ("50", "99"):
        if m := re.search(rf"^\s*{pct}%\s+(\S+)", text, re.M):
            r["p" + pct] = ms(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        r["connect"], r["read"], r["write"], r["timeout"] = map(int, m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        r["non2xx"] = int(m.group(1))
    return r


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [l.strip() for l in f if l.strip()]
    except OSError:
        return []


def fmt_ms(v):
    if v is None:
        return "?"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def main():
    work = sys.argv[1]
    meta = {}
    for line in read_lines(os.path.join(work, "meta")):
        k, _, v = line.partition("=")
        meta[k] = v
    reps = int(meta.get("reps", "1"))
    scen = meta.get("scenarios", "").split()
    runs = {}
    for s in scen:
        runs[s] = []
        for i in range(1, reps + 1):
            base = os.path.join(work, f"{s}.{i}")
            w = parse_wrk(base + ".wrk")
            w["i"] = i
            try:
                with open(base + ".cpu.json", encoding="ascii") as f:
                    w["cpu"] = json.load(f)
            except (OSError, ValueError):
                w["cpu"] = {"parts": {}, "busy": 0, "total": 0, "requests": 0}
            st = read_lines(base + ".stored")
            try:
                w["stored"] = int(st[1]) - int(st[0])
            except (IndexError, ValueError):
                w["stored"] = None
            w["load"] = " -> ".join(l.split()[0] for l in read_lines(base + ".load"))
            runs[s].append(w)

    def median_run(s):
        ordered = sorted(runs[s], key=lambda w: w["rps"])
        return ordered[(len(ordered) + 1) // 2 - 1]

    def cpu_us(w, names):
        n = w["cpu"].get("requests") or 0
        used = sum(w["cpu"]["parts"].get(name, 0.0) for name in names)
        return 1e6 * used / n if n else None

    errors = []
    for s in scen:
        for w in runs[s]:
            where = f"{s} run {w['i']}"
            if not w["ok"]:
                errors.append(f"{where}: wrk gave no result (see {s}.{w['i']}.wrk)")
                continue
            if w["requests"] == 0:
                errors.append(f"{where}: not one request answered in {meta.get('secs')} s (a stall)")
            sock = w["connect"] + w["read"] + w["write"]
            if sock:
                errors.append(f"{where}: {sock} socket errors (connect {w['connect']}, read {w['read']}, write {w['write']})")
            if w["timeout"]:
                errors.append(f"{where}: {w['timeout']} requests timed out (wrk's 2 s)")
            if w["non2xx"]:
                errors.append(f"{where}: {w['non2xx']} non-2xx answers")
            if s != "static" and w["stored"] is not None and w["stored"] < w["requests"] - w["non2xx"]:
                errors.append(f"{where}: {w['requests'] - w['non2xx']} 2xx answers but only "
                              f"{w['stored']} timers stored")

    print(f"## create path beside the BullMQ peer and nginx `return 200` — {meta.get('date')}")
    print()
    print(f"{meta.get('cores')} cores, load {meta.get('load_start')} before and {meta.get('load_end')} after; "
          f"`wrk -t1 -c64 -d{meta.get('secs')}s --latency`, {reps} rounds of {', '.join(scen)} in turn "
          f"after a {meta.get('warmup')} s warm-up of each; "
          f"body {meta.get('body_bytes')} bytes (callback_data 100 bytes, seconds 864000).")
    if "timerush" in scen:
        extra = f", ./timerush {meta['extra']}" if meta.get("extra") else ""
        print(f"TimeRush at {meta.get('commit')} (the last commit of its sources; build {meta.get('build')}): "
              f"{meta.get('fcgi_workers')} timerush-fcgi, nginx worker_processes "
              f"{meta.get('nginx_workers')}, --keepalive {meta.get('keepalive_mode')} "
              f"(upstream {meta.get('keepalive')}){extra}.")
    if "bullmq" in scen:
        print(f"BullMQ peer: bullmq {meta.get('bullmq')}, ioredis {meta.get('ioredis')}, node {meta.get('node')}, "
              f"{meta.get('peer_procs')} node process(es); its own redis {meta.get('redis')} "
              f"(appendonly yes, appendfsync everysec).")
    print()
    print("| scenario | runs (requests/s) | median | p50 ms | p99 ms | max ms | socket errors / timeouts | non-2xx | "
          "timers stored / requests | load during the median run |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for s in scen:
        m = median_run(s)
        sock = sum(w["connect"] + w["read"] + w["write"] for w in runs[s])
        tmo = sum(w["timeout"] for w in runs[s])
        non2xx = sum(w["non2xx"] for w in runs[s])
        if s == "static":
            stored = "-"
        else:
            st = sum(w["stored"] or 0 for w in runs[s])
            stored = f"{st} / {sum(w['requests'] for w in runs[s])}"
        flag = lambda n: f"**{n}**" if n else "0"
        rates = " ".join(f"{w['rps']:.0f}" for w in runs[s])
        print(f"| {s} | {rates} | {m['rps']:.0f} | "
              f"{fmt_ms(m['p50'])} | {fmt_ms(m['p99'])} | {fmt_ms(m['max'])} | {flag(sock)} / {flag(tmo)} | "
              f"{flag(non2xx)} | {stored} | {m['load']} |")
    print()
    print("Errors and timeouts are summed over all runs; latencies are the median run's.")
    status = read_lines(os.path.join(work, "timerush.status"))
    if status:
        cells = []
        for line in status:
            f = line.split() + ["0", "0"]
            cells.append(f"{f[0]}: {f[1]}" + (f" ({f[2]} after 2 s or more)" if f[2] != "0" else ""))
        print("The TimeRush nginx's access log, /register/ by status over the warm-up and all runs: "
              + ", ".join(cells) + ". A 499 is a request whose client closed first: wrk closes its "
              "connections with requests in flight when a run ends (up to 64 a run), and gives up after 2 s.")
    print()

    # CPU per request, median run.
    print("CPU per request of the median run (µs, from /proc; bench/proc_cpu.py):")
    print()
    print("| scenario | by process | total | machine busy |")
    print("| --- | --- | ---: | ---: |")
    totals = {}
    for s in scen:
        m = median_run(s)
        cells = []
        total = 0.0
        for label, names in PARTS[s]:
            v = cpu_us(m, names)
            total += v or 0.0
            label_n = label
            if label == "timerush-fcgi":
                label_n = f"timerush-fcgi ({meta.get('fcgi_workers')} summed)"
            elif s == "bullmq" and label == "node" and meta.get("peer_procs", "1") != "1":
                label_n = f"node ({meta.get('peer_procs')} + primary summed)"
            cells.append(f"{label_n} {v:.0f}" if v is not None else f"{label_n} ?")
        for label, names in ASIDE.get(s, []):
            v = cpu_us(m, names)
            if v is not None:
                cells.append(f"({label} {v:.0f}, not in the total)")
        totals[s] = total
        busy = m["cpu"].get("busy", 0)
        avail = m["cpu"].get("total", 0)
        print(f"| {s} | {', '.join(cells)} | {total:.0f} | {busy:.1f} of {avail:.1f} CPU s |")
    print()

    # The goals of issue 10.
    med = {s: median_run(s)["rps"] for s in scen}
    rows = []
    if "timerush" in scen and "bullmq" in scen and med["bullmq"]:
        r = med["timerush"] / med["bullmq"]
        rows.append(("timerush / bullmq requests/s", f"{r:.2f}", ">= 2", r >= 2))
    if "timerush" in scen and "static" in scen and med["static"]:
        r = med["timerush"] / med["static"]
        rows.append(("timerush / static requests/s", f"{r:.3f}", ">= 0.2", r >= 0.2))
    if "timerush" in scen:
        m = median_run("timerush")
        p99 = m["p99"]
        rows.append(("timerush p99 round trip (median run)", f"{fmt_ms(p99)} ms", "<= 10 ms",
                     p99 is not None and p99 <= 10))
        bad = sum(w["connect"] + w["read"] + w["write"] + w["timeout"] + w["non2xx"] for w in runs["timerush"])
        stalls = sum(1 for w in runs["timerush"] if w["requests"] == 0)
        bad_text = str(bad) + (f" and {stalls} run(s) with no answer at all" if stalls else "")
        rows.append(("timerush errors + timeouts + non-2xx (all runs)", bad_text, "0", bad == 0 and not stalls))
        rows.append(("timerush CPU per create, FastCGI + Redis + nginx", f"{totals['timerush']:.0f} µs",
                     "<= 100 µs", totals["timerush"] <= 100))
    if "bullmq" in scen:
        rows.append(("(bullmq CPU per create, node + Redis)", f"{totals['bullmq']:.0f} µs", "-", None))
    if rows:
        print("| goal (issue 10) | measured | target | met |")
        print("| --- | ---: | ---: | --- |")
        for name, v, target, ok in rows:
            print(f"| {name} | {v} | {target} | {'-' if ok is None else 'yes' if ok else '**no**'} |")
        print()

    if errors:
        print("**ERRORS in this run:**")
        print()
        for e in errors:
            print(f"- **{e}**")
        print()
        for e in errors:
            print(f"create_peer: ERROR: {e}", file=sys.stderr)
        return 1
    print("No socket error, timeout or non-2xx answer; every 2xx create was stored.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
