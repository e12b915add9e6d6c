#!/usr/bin/env python3
"""proc_cpu.py - where the CPU went during a measurement, per part of the stack.

  proc_cpu.py snap RUN_DIR [NAME=PID ...] > A.json   CPU time used so far by
        redis, redis's forked children (AOF rewrite: finished ones from cutime +
        cstime, running ones from their own stat), nginx (master and workers),
        timerush-fcgi (every worker), each scheduler, the extra NAME=PID
        processes, and the whole machine. An extra part may be
          NAME=PID[,PID...]  those processes
          NAME=tree:PID      PID and its children at the time (an nginx master and
                             its workers, a node:cluster primary and its processes)
          NAME=forks:PID     PID, and its forked children as a part of their own,
                             "NAME children (AOF rewrite)", counted as for redis
        RUN_DIR may be a directory without pids/ (then only the extras count).
  proc_cpu.py diff A.json B.json REQUESTS            per part: CPU seconds between
        the two snapshots, share of the machine's busy time, and CPU us per request
  proc_cpu.py diffjson A.json B.json REQUESTS        the same as one JSON object:
        {"parts": {NAME: CPU s}, "busy": s, "total": s, "requests": N}

Reads /proc only (utime + stime of each process; /proc/stat for the machine).
Standard library only.
"""
import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    """The fields after ")" of /proc/PID/stat (state is index 0), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def proc_ticks(pid):
    rest = proc_stat(pid)
    try:
        # fields after ")": state ppid ... utime is field 14 overall -> index 11 here
        return int(rest[11]) + int(rest[12]), int(rest[1])
    except (TypeError, IndexError, ValueError):
        return None, None


def child_ticks(pid):
    """CPU of pid's children: reaped ones (cutime + cstime) plus running ones."""
    rest = proc_stat(pid)
    try:
        total = int(rest[13]) + int(rest[14])
    except (TypeError, IndexError, ValueError):
        return None
    for c in children(pid):
        t, _ = proc_ticks(c)
        total += t or 0
    return total


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            _, parent = proc_ticks(d)
            if parent == ppid:
                out.append(int(d))
    return out


def read_pids(path):
    try:
        with open(path, encoding="ascii") as f:
            return [int(x) for x in f.read().split() if x.isdigit()]
    except OSError:
        return []


def snap(run_dir, extra):
    pids = os.path.join(run_dir, "pids")
    parts = {
        "redis": read_pids(os.path.join(pids, "redis.pid")),
        "timerush-fcgi": read_pids(os.path.join(pids, "fcgi.pid")),
        "scheduler": [],
        "nginx": [],
    }
    for p in read_pids(os.path.join(pids, "nginx.pid")):
        parts["nginx"] += [p] + children(p)
    if os.path.isdir(pids):
        for name in sorted(os.listdir(pids)):
            if name.startswith("scheduler.") and name.endswith(".pid"):
                parts["scheduler"] += read_pids(os.path.join(pids, name))
    forks = {"redis": parts["redis"]}
    for item in extra:
        name, spec = item.split("=", 1)
        if spec.startswith("tree:"):
            p = int(spec[5:])
            parts[name] = [p] + children(p)
        elif spec.startswith("forks:"):
            parts[name] = [int(spec[6:])]
            forks[name] = parts[name]
        else:
            parts[name] = [int(x) for x in spec.split(",") if x]
    result = {}
    for name, plist in parts.items():
        result[name] = {str(p): proc_ticks(p)[0] for p in plist}
    # The AOF rewrite runs in a forked child: not in redis's own ticks.
    for name, plist in forks.items():
        result[f"{name} children (AOF rewrite)"] = {str(p): child_ticks(p) for p in plist}
    with open("/proc/stat", encoding="ascii") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    result["_machine"] = {"busy": sum(cpu) - cpu[3] - cpu[4], "total": sum(cpu)}
    return result


def used_by_part(a, b):
    """[(part, CPU seconds between the snapshots)], in b's order."""
    rows = []
    for name in b:
        if name == "_machine":
            continue
        used = 0.0
        for pid, t in b[name].items():
            t0 = a.get(name, {}).get(pid)
            if t is not None and t0 is not None:
                used += (t - t0) / TICK
        rows.append((name, used))
    return rows


def diff_json(a, b, requests):
    json.dump({"parts": dict(used_by_part(a, b)),
               "busy": (b["_machine"]["busy"] - a["_machine"]["busy"]) / TICK,
               "total": (b["_machine"]["total"] - a["_machine"]["total"]) / TICK,
               "requests": requests}, sys.stdout)
    print()


def diff(a, b, requests):
    busy = (b["_machine"]["busy"] - a["_machine"]["busy"]) / TICK
    total = (b["_machine"]["total"] - a["_machine"]["total"]) / TICK
    rows = used_by_part(a, b)
    ours = sum(used for _, used in rows)
    print(f"| part | CPU s | share of busy CPU | CPU us / request |")
    print(f"| --- | ---: | ---: | ---: |")
    for name, used in sorted(rows, key=lambda r: -r[1]):
        share = 100.0 * used / busy if busy else 0.0
        per = 1e6 * used / requests if requests else 0.0
        print(f"| {name} | {used:.2f} | {share:.0f}% | {per:.0f} |")
    other = busy - ours
    print(f"| everything else on the machine | {other:.2f} | "
          f"{100.0 * other / busy if busy else 0:.0f}% | - |")
    print(f"\nMachine: {busy:.2f} CPU s busy of {total:.2f} available "
          f"({100.0 * busy / total if total else 0:.0f}%); {requests} requests.")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "snap":
        json.dump(snap(sys.argv[2], sys.argv[3:]), sys.stdout)
        return 0
    if len(sys.argv) == 5 and sys.argv[1] in ("diff", "diffjson"):
        with open(sys.argv[2], encoding="ascii") as f:
            a = json.load(f)
        with open(sys.argv[3], encoding="ascii") as f:
            b = json.load(f)
        (diff if sys.argv[1] == "diff" else diff_json)(a, b, int(float(sys.argv[4])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
