#!/usr/bin/env python3
"""analyze.py - joins what the driver sent with what the receiver got.

Inputs: the TSV of tr_bench_register (id seconds t_sent_us t_answered_us status ret
key [delay_ms]) and the JSON-lines log of timerush-sink (one line per request, with t_us, key
and body). A timer is matched by its key (X-TimeRush-Key) or, when the sink saw no
key, by the id inside its callback_data.

lateness = t_arrival - (t_sent + delay), in ms, for the first arrival of each
timer; delay is the delay_ms column when the TSV has one (--rest sub-second timers),
else seconds x 1000. t_sent is taken just before the request left the driver, so the
figure also holds the time the create request took to reach Redis: it can only
overstate lateness.
The original's table uses whole seconds late computed its way: int(lateness_s).

Writes a JSON summary (--json), gnuplot data (--dat-prefix: PREFIX.hist, PREFIX.cdf)
and prints markdown to stdout. Exit 0, or 3 when --require-complete is given and a
timer was lost or duplicated, or 4 when a --floor is missed and --require-floors.
Standard library only.
"""
import argparse
import collections
import json
import math
import sys


def read_driver(path):
    timers = {}
    failed = 0
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < len(header):
                continue
            rec = {
                "id": int(p[col["id"]]),
                "seconds": int(p[col["seconds"]]),
                "t_sent_us": int(p[col["t_sent_us"]]),
                "t_answered_us": int(p[col["t_answered_us"]]),
                "status": int(p[col["status"]]),
                "ret": int(p[col["ret"]]),
                "key": p[col["key"]],
            }
            # The delay asked for, in µs: delay_ms when the driver wrote it.
            if "delay_ms" in col:
                rec["delay_us"] = int(p[col["delay_ms"]]) * 1000
            else:
                rec["delay_us"] = rec["seconds"] * 1_000_000
            if rec["ret"] != 0 or rec["key"] == "-":
                failed += 1
                continue
            timers[rec["id"]] = rec
    return timers, failed


def body_id(body):
    """The id in callback_data {"id":N,...}, or None."""
    try:
        obj = json.loads(body)
        return int(obj["id"])
    except (ValueError, TypeError, KeyError):
        return None


def read_sink(path):
    arrivals = []
    bad = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                arrivals.append(json.loads(line))
            except ValueError:
                bad += 1
    return arrivals, bad


def pct(sorted_vals, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def nice_width(span, target_bins):
    for w in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000,
              2000, 5000, 10000):
        if span / w <= target_bins:
            return w
    return 20000


def fmt(v, nd=2):
    return "-" if v is None else f"{v:.{nd}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", required=True, help="TSV from tr_bench_register")
    ap.add_argument("--sink", required=True, help="timerush-sink --log file")
    ap.add_argument("--label", default="scenario")
    ap.add_argument("--json", help="write the summary here")
    ap.add_argument("--dat-prefix", help="write PREFIX.hist and PREFIX.cdf for gnuplot")
    ap.add_argument("--due-at-us", type=int, default=0,
                    help="burst: the nominal instant every timer was due (wall clock us)")
    ap.add_argument("--floor", action="append", default=[],
                    help="NAME<=V or NAME>=V on a summary field, e.g. p99_ms<=5")
    ap.add_argument("--require-complete", action="store_true",
                    help="exit 3 when a timer is lost or delivered twice")
    ap.add_argument("--require-floors", action="store_true",
                    help="exit 4 when a floor is missed")
    a = ap.parse_args()

    timers, reg_failed = read_driver(a.driver)
    arrivals, bad_lines = read_sink(a.sink)
    by_key = {t["key"]: tid for tid, t in timers.items()}

    seen = collections.defaultdict(list)  # timer id -> arrival t_us list
    unknown = 0
    for r in arrivals:
        tid = by_key.get(r.get("key", ""))
        if tid is None:
            tid = body_id(r.get("body", ""))
            if tid not in timers:
                unknown += 1
                continue
        seen[tid].append((int(r["t_us"]), int(r.get("due_ms", 0) or 0),
                          int(r.get("attempt", 0) or 0)))

    late_ms = []
    late_srv_ms = []  # against the due time Redis computed (X-TimeRush-Due-Ms)
    dups = 0
    first_arrival = None
    last_arrival = None
    for tid, t in timers.items():
        got = seen.get(tid)
        if not got:
            continue
        got.sort()
        dups += len(got) - 1
        t_us, due_ms, _attempt = got[0]
        late_ms.append((t_us - (t["t_sent_us"] + t["delay_us"])) / 1000.0)
        if due_ms > 0:
            late_srv_ms.append(t_us / 1000.0 - due_ms)
        first_arrival = t_us if first_arrival is None else min(first_arrival, t_us)
        last_arrival = got[-1][0] if last_arrival is None else max(last_arrival, got[-1][0])
    lost = sum(1 for tid in timers if tid not in seen)
    # Lateness while registration was still running (the FastCGI workers and the
    # driver compete with the scheduler for CPU) against after it ended.
    reg_end_us = max((t["t_answered_us"] for t in timers.values()), default=0)
    during, after = [], []
    windows = collections.defaultdict(list)  # 5-s window of due time -> lateness
    for tid, t in timers.items():
        got = seen.get(tid)
        if not got:
            continue
        due_us = t["t_sent_us"] + t["delay_us"]
        v = (got[0][0] - due_us) / 1000.0
        (during if due_us <= reg_end_us else after).append(v)
        windows[due_us // 5_000_000].append(v)
    during.sort()
    after.sort()
    late_ms.sort()
    late_srv_ms.sort()
    n = len(late_ms)

    # The original's table: whole seconds late, int() truncation like its script.
    buckets = collections.Counter(int(v / 1000.0) for v in late_ms)
    table = [{"seconds_late": s, "count": c, "percent": 100.0 * c / n if n else 0.0}
             for s, c in sorted(buckets.items())]

    summary = {
        "label": a.label,
        "registered": len(timers),
        "register_failed": reg_failed,
        "arrived": n,
        "lost": lost,
        "duplicates": dups,
        "unknown_requests": unknown,
        "bad_log_lines": bad_lines,
        "early": sum(1 for v in late_ms if v < 0),
        "zero_bucket_pct": (100.0 * buckets.get(0, 0) / n) if n else 0.0,
        "min_ms": late_ms[0] if n else None,
        "p50_ms": pct(late_ms, 50),
        "p90_ms": pct(late_ms, 90),
        "p99_ms": pct(late_ms, 99),
        "p999_ms": pct(late_ms, 99.9),
        "max_ms": late_ms[-1] if n else None,
        "mean_ms": (sum(late_ms) / n) if n else None,
        "server_due": {
            "count": len(late_srv_ms),
            "p50_ms": pct(late_srv_ms, 50),
            "p99_ms": pct(late_srv_ms, 99),
            "max_ms": late_srv_ms[-1] if late_srv_ms else None,
            "early": sum(1 for v in late_srv_ms if v < 0),
        },
        "table": table,
        "due_during_registration": {"count": len(during), "p50_ms": pct(during, 50),
                                    "p99_ms": pct(during, 99),
                                    "max_ms": during[-1] if during else None},
        "due_after_registration": {"count": len(after), "p50_ms": pct(after, 50),
                                   "p99_ms": pct(after, 99),
                                   "max_ms": after[-1] if after else None},
        "windows_5s": [{"due_window_start_us": w * 5_000_000, "count": len(v),
                        "p99_ms": pct(sorted(v), 99), "max_ms": max(v)}
                       for w, v in sorted(windows.items())],
    }
    sent = [t["t_sent_us"] for t in timers.values()]
    answered = [t["t_answered_us"] for t in timers.values()]
    if sent:
        span = (max(answered) - min(sent)) / 1e6
        summary["register_span_s"] = span
        summary["register_rate_per_s"] = len(sent) / span if span > 0 else None
    if first_arrival is not None:
        dur = (last_arrival - first_arrival) / 1e6
        summary["first_arrival_us"] = first_arrival
        summary["last_arrival_us"] = last_arrival
        summary["delivery_span_s"] = dur
        summary["callbacks_per_s"] = (n + dups) / dur if dur > 0 else None
        if a.due_at_us:
            dues = [t["t_sent_us"] + t["delay_us"] for t in timers.values()]
            summary["burst"] = {
                "nominal_due_us": a.due_at_us,
                "due_spread_s": (max(dues) - min(dues)) / 1e6,
                "nominal_to_last_s": (last_arrival - a.due_at_us) / 1e6,
                "last_due_to_last_callback_s": (last_arrival - max(dues)) / 1e6,
                "first_due_to_last_callback_s": (last_arrival - min(dues)) / 1e6,
            }

    # Floors: "name<=v" / "name>=v" on top-level numeric fields.
    floors = []
    for f in a.floor:
        op = "<=" if "<=" in f else ">="
        name, val = f.split(op, 1)
        have = summary.get(name)
        ok = have is not None and (have <= float(val) if op == "<=" else have >= float(val))
        floors.append({"floor": f, "value": have, "ok": ok})
    summary["floors"] = floors

    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
    if a.dat_prefix and n:
        hi = pct(late_ms, 99.9)
        lo = min(0.0, late_ms[0])
        width = nice_width(max(hi - lo, 1e-3), 200)
        hist = collections.Counter(math.floor(v / width) for v in late_ms)
        with open(a.dat_prefix + ".hist", "w", encoding="utf-8") as f:
            f.write(f"# lateness_ms_bin_start count percent  (bin width {width} ms)\n")
            for b in sorted(hist):
                f.write(f"{b * width:.3f} {hist[b]} {100.0 * hist[b] / n:.4f}\n")
        step = max(1, n // 2000)
        with open(a.dat_prefix + ".cdf", "w", encoding="utf-8") as f:
            f.write("# lateness_ms cumulative_percent\n")
            for i in range(0, n, step):
                f.write(f"{late_ms[i]:.3f} {100.0 * (i + 1) / n:.4f}\n")
            f.write(f"{late_ms[-1]:.3f} 100.0\n")

    print(f"### {a.label}\n")
    print("| seconds late | count | percent |")
    print("| ---: | ---: | ---: |")
    for row in table:
        print(f"| {row['seconds_late']} | {row['count']} | {row['percent']:.1f}% |")
    print()
    print("| timers | arrived | lost | duplicates | early | p50 ms | p90 ms | p99 ms "
          "| p99.9 ms | max ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {len(timers)} | {n} | {lost} | {dups} | {summary['early']} "
          f"| {fmt(summary['p50_ms'])} | {fmt(summary['p90_ms'])} | {fmt(summary['p99_ms'])} "
          f"| {fmt(summary['p999_ms'])} | {fmt(summary['max_ms'])} |")
    sd = summary["server_due"]
    if sd["count"]:
        print(f"\nAgainst the due time Redis computed (X-TimeRush-Due-Ms): p50 "
              f"{fmt(sd['p50_ms'])} ms, p99 {fmt(sd['p99_ms'])} ms, max {fmt(sd['max_ms'])} ms, "
              f"early {sd['early']}.")
    dr, af = summary["due_during_registration"], summary["due_after_registration"]
    if dr["count"] and af["count"]:
        print(f"\nDue while registration was running: {dr['count']} timers, p99 "
              f"{fmt(dr['p99_ms'])} ms, max {fmt(dr['max_ms'])} ms; due after it: "
              f"{af['count']}, p99 {fmt(af['p99_ms'])} ms, max {fmt(af['max_ms'])} ms.")
    if reg_failed or unknown or bad_lines:
        print(f"\nRegistration failures: {reg_failed}; unknown requests at the sink: {unknown}; "
              f"unreadable log lines: {bad_lines}.")
    if "register_rate_per_s" in summary and summary["register_rate_per_s"]:
        print(f"\nRegistered in {summary['register_span_s']:.2f} s "
              f"({summary['register_rate_per_s']:.0f}/s).")
    if "burst" in summary:
        bu = summary["burst"]
        print(f"\nBurst: due times spread over {bu['due_spread_s']:.2f} s; last callback "
              f"{bu['nominal_to_last_s']:.3f} s after the nominal instant, "
              f"{bu['last_due_to_last_callback_s']:.3f} s after the last due time; "
              f"{fmt(summary.get('callbacks_per_s'), 0)} callbacks/s over "
              f"{summary['delivery_span_s']:.3f} s from first to last.")
    for fl in floors:
        print(f"\nfloor {fl['floor']}: {'ok' if fl['ok'] else 'MISSED'} (value {fl['value']})")
    print()

    if a.require_complete and (lost or dups or reg_failed or n == 0):
        print(f"FAIL: lost={lost} duplicates={dups} register_failed={reg_failed} arrived={n}",
              file=sys.stderr)
        return 3
    if a.require_floors and not all(fl["ok"] for fl in floors):
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
