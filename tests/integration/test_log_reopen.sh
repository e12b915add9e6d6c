#!/usr/bin/env bash
# test_log_reopen.sh - SIGHUP makes timerush-scheduler reopen its log: after a
# rotation it says "log reopened" in the new file; when the path cannot be opened
# (its directory is gone) it says so, with the reason, in the old file, which it keeps
# writing, and never claims it reopened. No Redis needed: the scheduler waits for one.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
tr_setup

sched=$TR_BUILD_DIR/scheduler/timerush-scheduler
mkdir -p "$TR_TMP/logs"
log=$TR_TMP/logs/scheduler.log
"$sched" --redis-socket="$TR_TMP/none.sock" --port=0 --logpath="$log" --drain-ms=0 2>/dev/null &
pid=$!
tr_track_pid "$pid"
tr_wait_for "the scheduler logs its start" 10 grep -q "started:" "$log"

# Rotation: the file is moved, the path is free.
mv "$log" "$log.1"
kill -HUP "$pid"
tr_wait_for "after a rotation it logs 'log reopened' in the new file" 10 \
    grep -q "INFO .*log reopened" "$log"

# The directory goes away: the path cannot be opened.
mv "$TR_TMP/logs" "$TR_TMP/moved"
kill -HUP "$pid"
old=$TR_TMP/moved/scheduler.log
tr_wait_for "a failed reopen is logged in the old file" 10 \
    grep -q "ERROR .*cannot reopen the log $log: No such file or directory; still writing to the old file" "$old"
sleep 0.2 # a wrong "log reopened" would follow at once
check_eq "and nothing after it claims it was reopened" 0 \
    "$(sed -n '/reopen the log/,$p' "$old" | grep -c "log reopened")"
tr_kill_wait TERM 10 "$pid"
check "the old file is still the log (its stop is there)" grep -q "stopped\|stopping" "$old"

tr_finish
