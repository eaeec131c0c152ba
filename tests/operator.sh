#!/usr/bin/env bash
# tests/operator.sh — prepctl and the journal with the real accounts of
# docs/operations.md, httpd started as root with `User USER_NAME` and
# `PrepUser LOADER_NAME` (tests/root-test.sh), one server per case:
#
#   1  prepctl run as root acts as the loader account: after rollback, pin,
#      a retained package, unpin, drill, close and reset nothing in the
#      store is root's, and each took effect on the running server;
#   2  prepctl run as a user who may not write the store (the uploader,
#      the server's User): exit 1 and "may not write", nothing changes;
#   3  the journal survives a SIGKILL of httpd (the parent and the intake):
#      every line still parses, a new "start" is appended at the next
#      start, the same corte is served;
#   4  a journal that cannot be written (STORE/journal.lock replaced by a
#      directory) does not stop publishing; the journal holds whole lines
#      only, and is written again once the lock is back;
#   5  a full store (a 20 MB tmpfs): the package waits, the journal holds
#      whole lines only, and once space is freed the package is published
#      and journaled;
#   6  prepctl while httpd is stopped: a rollback, then a drill, take effect
#      when it starts; the pin survives a graceful restart and a stop and
#      start; an unpin made while stopped serves the newest corte at start.
#
# Prints a table of the cases; exits non-zero if any failed.  Needs root
# (skips otherwise).  About two minutes.
#
#   tests/operator.sh [TOP] [CASE...]
#
# Environment: PREP_TEST_USER (prepci), PREP_TEST_LOADER (prep),
# PREP_TEST_UPLOADER (prepup), PREP_SO, PREP_TEST_KEEP=1 keeps the work
# directory (a failed run keeps it anyway).
set -uo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
shift || true
CASES=${*:-1 2 3 4 5 6}
GEN="$TOP/tests/genpackage.py"
PREPCTL="$TOP/prepctl"
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup operator || exit 0
T0=$SECONDS
PKG="$W/pkg"
mkdir -p "$PKG"
chmod 755 "$PKG"
[ -x "$PREPCTL" ] || { echo "operator: $PREPCTL not built"; exit 1; }

declare -A CASE_NAME=(
    [1]="root's prepctl acts as the loader"
    [2]="prepctl as one who may not write"
    [3]="journal survives SIGKILL of httpd"
    [4]="journal.lock a directory: publishes"
    [5]="full store: whole journal lines"
    [6]="prepctl while httpd is stopped"
)

N="" C="" FEED="" BASE=""
declare -a MOUNTS=()

log() { echo "operator[$N]: $*"; }
bad() {
    log "FAIL: $*"
    echo "$*" >>"$W/failures.$N"
}
dump() {
    echo "---- [$N] error_log (last 20 lines)"
    tail -20 "$C/logs/error_log" 2>/dev/null | cut -c1-300 || true
    echo "---- [$N] journal (last 10 lines)"
    tail -10 "$C/store/journal.jsonl" 2>/dev/null | cut -c1-300 || true
    echo "---- [$N] store"
    find "$C/store" -maxdepth 2 -printf '%u %m %y %s %p\n' 2>/dev/null | grep -v '/cortes/.*/' | head -30 || true
}
finish() {
    if [ -s "$W/failures.$N" ]; then
        dump
        exit 1
    fi
    log "OK ($*)"
}
case_cleanup() {
    local m
    [ -z "$C" ] || { stop_httpd "$C"; rm -f "$C/run/httpd.pid"; }
    for m in "${MOUNTS[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}


new_case() {
    FEED=$1
    C="$W/c$N-$FEED"
    mkdir -p "$C/logs" "$C/run"
    chmod 755 "$C" "$C/run"
    accounts_setup "$C"
    local port
    port=$(free_port)
    BASE="http://127.0.0.1:$port"
    write_server_conf "$C" "$port" "$FEED"
}
start_server() {
    "$HTTPD" -t -f "$C/httpd.conf" >"$C/configtest.out" 2>&1 ||
        fail "apache2 -t: $(tr '\n' ' ' <"$C/configtest.out")"
    "$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start"
    wait_until 20 curl -s -o /dev/null --max-time 2 "$BASE/prep-status" ||
        fail "the server did not answer on $BASE"
    wait_until 5 has_intake || true
}
has_intake() { [ -n "$(intake_pid_of "$C")" ]; }

st() { feed_status "$BASE" "${2:-$FEED}" "$1"; }
served_id() { st '(f.get("corte") or {}).get("id")'; }
state() { st 'f.get("state")'; }
problem() { st '(f.get("problem") or {}).get("message")'; }
has_problem() { [ -n "$(problem)" ]; }
is_served() { [ "$(served_id)" = "$1" ]; }
is_state() { [ "$(state)" = "$1" ]; }
# served_time: X-PREP-Corte of json/main.json.
served_time() {
    curl -s --max-time 5 -o /dev/null -D - "$BASE/prep/$FEED/json/main.json" |
        tr -d '\r' | sed -n 's/^[Xx]-[Pp][Rr][Ee][Pp]-[Cc]orte: *//p'
}
serves_time() { [ "$(served_time)" = "$1" ]; }
published_other_than() { local id; id=$(served_id); [ -n "$id" ] && [ "$id" != "$1" ]; }

corte() { echo "2024-06-02T$1:00-06:00"; }
package() {
    python3 "$GEN" "$PKG/$1.tar.gz" --corte "$2" --files 300 --seed "${3:-1}" >/dev/null 2>&1 ||
        { echo "operator: genpackage $1 failed"; return 1; }
    chmod 644 "$PKG/$1.tar.gz"
}
upload() {
    as_uploader cp "$PKG/$1.tar.gz" "$C/incoming/$1.tar.gz.part" || fail "the uploader cannot write INCOMING"
    as_uploader mv "$C/incoming/$1.tar.gz.part" "$C/incoming/$1.tar.gz" || fail "the uploader cannot rename"
}
publish() {
    local before
    before=$(served_id)
    upload "$1"
    wait_until 30 published_other_than "$before" || fail "$1 was not published within 30 s"
}

# pctl CMD ARGS...: prepctl CMD, this server's feeds file given; output in
# $C/pctl.out and $C/pctl.err, status in PCTL_RC.  as_pctl WHO CMD ...: the
# same as another account (setpriv).
PCTL_RC=0
pctl() {
    local cmd=$1
    shift
    "$PREPCTL" "$cmd" --feeds "$C/run/mod_prep-feeds.json" "$@" </dev/null >"$C/pctl.out" 2>"$C/pctl.err"
    PCTL_RC=$?
}
pctl_as() {
    local who=$1 cmd=$2
    shift 2
    "$who" "$PREPCTL" "$cmd" --feeds "$C/run/mod_prep-feeds.json" "$@" </dev/null >"$C/pctl.out" 2>"$C/pctl.err"
    PCTL_RC=$?
}
# pctl_ok: the command must succeed; a refusal because a load runs (a
# banner republished after drill or close holds the lock) is retried for
# up to 20 s, as an operator would.
pctl_ok() {
    local end=$((SECONDS + 20))
    pctl "$@"
    while [ "$PCTL_RC" = 1 ] && grep -qi 'load is running' "$C/pctl.err" && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.5
        pctl "$@"
    done
    [ "$PCTL_RC" = 0 ] || bad "prepctl $*: exit $PCTL_RC: $(head -c 300 "$C/pctl.err")"
}

# not_root_owned WHAT: nothing in the store is root's (or another's than
# the loader account).
owned_by_loader() {
    local out
    out=$(find "$C/store" ! -user "$LOADER_NAME" -printf '%u %p\n' 2>/dev/null | head -5)
    [ -z "$out" ] || bad "after $1 not the loader account's in the store: $out"
}

# journal_whole [MIN_LINES]: every line of STORE/journal.jsonl is a JSON
# object with at, feed, event, the file ends with a newline; prints the
# number of lines.
journal_whole() {
    python3 - "$C/store/journal.jsonl" "$FEED" <<'EOF'
import json, sys
data = open(sys.argv[1], 'rb').read()
if data and not data.endswith(b'\n'):
    print('the journal does not end with a whole line: ...%r' % data[-80:])
    sys.exit(1)
n = 0
for i, raw in enumerate(data.split(b'\n')[:-1], 1):
    try:
        d = json.loads(raw)
    except Exception as e:
        print('line %d is not JSON (%s): %r' % (i, e, raw[:120]))
        sys.exit(1)
    if not isinstance(d, dict) or not all(k in d for k in ('at', 'feed', 'event')) or d['feed'] != sys.argv[2]:
        print('line %d lacks at/feed/event: %r' % (i, raw[:120]))
        sys.exit(1)
    n += 1
print(n)
EOF
}
# journal_count EVENT: how many lines of that event.
journal_count() {
    python3 -c '
import json, sys
n = 0
for raw in open(sys.argv[1], "rb"):
    try:
        n += json.loads(raw).get("event") == sys.argv[2]
    except Exception:
        pass
print(n)' "$C/store/journal.jsonl" "$1" 2>/dev/null || echo 0
}
has_event_after() { [ "$(journal_count "$1")" -gt "$2" ]; }
check_journal() {
    local out
    out=$(journal_whole) || bad "$1: $out"
    echo "$out"
}

# ---------------------------------------------------------------- 1
case_1() {
    new_case raiz
    package A "$(corte 21:05)" 11
    package B "$(corte 21:10)" 12
    package C "$(corte 21:15)" 13
    start_server
    publish A
    local a b
    a=$(served_id)
    publish B
    b=$(served_id)
    owned_by_loader "two packages"

    pctl_ok rollback "$FEED"
    wait_until 2 serves_time "$(corte 21:05)" || bad "rollback: A is not served within 2 s ($(served_time))"
    is_state pinned || bad "rollback: state $(state), not pinned"
    owned_by_loader "prepctl rollback (root)"

    local r0
    r0=$(journal_count retained)
    upload C
    wait_until 30 has_event_after retained "$r0" || bad "C was not retained while pinned"
    serves_time "$(corte 21:05)" || bad "while pinned $(served_time) is served, not A"
    owned_by_loader "a retained package"

    pctl_ok unpin "$FEED"
    wait_until 2 serves_time "$(corte 21:15)" || bad "unpin: C is not served within 2 s ($(served_time))"
    owned_by_loader "prepctl unpin (root)"

    pctl_ok pin "$FEED" "$b"
    wait_until 2 serves_time "$(corte 21:10)" || bad "pin B: B is not served within 2 s ($(served_time))"
    owned_by_loader "prepctl pin ID (root)"
    pctl_ok unpin "$FEED"

    pctl_ok drill "$FEED" on
    wait_until 2 sh -c "curl -s -D - -o /dev/null '$BASE/prep/$FEED/json/main.json' | grep -qi '^x-prep-drill: *1'" ||
        bad "drill on: no X-PREP-Drill within 2 s"
    pctl_ok drill "$FEED" off
    owned_by_loader "prepctl drill (root)"

    pctl_ok close "$FEED"
    wait_until 2 is_state closed || bad "close: state $(state), not closed"
    owned_by_loader "prepctl close (root)"

    pctl_ok reset "$FEED" --yes
    wait_until 2 is_state waiting || bad "reset: state $(state), not waiting"
    ls -d "$C/store/archive"/*/ >/dev/null 2>&1 || bad "reset: nothing in STORE/archive"
    owned_by_loader "prepctl reset (root)"

    publish A
    owned_by_loader "a package after the reset"
    local users
    users=$(python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l).get("user") or "-" for l in open(sys.argv[1]) if json.loads(l).get("event") in ("rollback", "pin", "unpin", "drill", "closed", "reset")})))' \
        "$C/store/journal.jsonl" 2>/dev/null)
    [ "$users" = root ] || bad "the operator events name the user '$users', not root"
    check_journal "after every command" >/dev/null
    finish "rollback, pin, unpin, drill, close, reset as root: the store stays $LOADER_NAME's"
}

# ---------------------------------------------------------------- 2
case_2() {
    new_case permiso
    package A "$(corte 21:05)" 21
    package B "$(corte 21:10)" 22
    start_server
    publish A
    publish B
    local b lines0 who
    b=$(served_id)
    lines0=$(wc -l <"$C/store/journal.jsonl")
    for who in as_uploader as_user; do
        for cmd in "rollback $FEED" "pin $FEED" "reset $FEED --yes" "close $FEED" "drill $FEED on"; do
            # shellcheck disable=SC2086
            pctl_as "$who" $cmd
            [ "$PCTL_RC" = 1 ] || bad "$who prepctl $cmd: exit $PCTL_RC, not 1 ($(head -c 200 "$C/pctl.err"))"
            grep -qi 'may not write' "$C/pctl.err" ||
                bad "$who prepctl $cmd: stderr does not say 'may not write': $(head -c 200 "$C/pctl.err")"
        done
    done
    is_served "$b" || bad "the served corte changed to $(served_id)"
    is_state serving || bad "state $(state), not serving"
    [ "$(wc -l <"$C/store/journal.jsonl")" = "$lines0" ] || bad "a refused command was journaled"
    [ ! -e "$C/store/control.json" ] || bad "a refused command wrote STORE/control.json"
    # Reading is allowed to anyone who may read the store.
    pctl_as as_user events "$FEED" --json
    [ "$PCTL_RC" = 0 ] || bad "the server's User cannot read the events: exit $PCTL_RC $(head -c 200 "$C/pctl.err")"
    finish "$UPLOADER_NAME and $USER_NAME refused with 'may not write', nothing changed"
}

# ---------------------------------------------------------------- 3
case_3() {
    new_case matar
    package A "$(corte 21:05)" 31
    start_server
    publish A
    local a starts lines pid intake
    a=$(served_id)
    starts=$(journal_count start)
    [ "$starts" -ge 1 ] || bad "no \"start\" line after the first start"
    lines=$(check_journal "before the kill")
    pid=$(httpd_pid "$C")
    intake=$(intake_pid_of "$C")
    # The parent's process group (the parent and its workers), then the
    # intake's (the intake leads a group of its own, with its loaders).
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
    [ -z "$intake" ] || kill -KILL -- "-$intake" 2>/dev/null || kill -KILL "$intake"
    wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "httpd survived SIGKILL"
    sleep 1
    rm -f "$C/run/httpd.pid"
    check_journal "after the kill" >/dev/null
    "$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start after the kill"
    wait_until 20 is_served "$a" || bad "after the restart $(served_id) is served, not $a"
    wait_until 10 has_event_after start "$starts" || bad "no new \"start\" line after the restart"
    local after
    after=$(check_journal "after the restart")
    [ "${after:-0}" -gt "${lines:-0}" ] 2>/dev/null || bad "the journal has $after lines, before the kill $lines"
    python3 - "$C/store/journal.jsonl" "$a" <<'EOF' || bad "the new start line does not name the corte served"
import json, sys
starts = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l).get("event") == "start"]
sys.exit(0 if starts and sys.argv[2] in json.dumps(starts[-1]) else 1)
EOF
    finish "$lines lines before, $after after the SIGKILL and the start; the same corte served"
}

# ---------------------------------------------------------------- 4
case_4() {
    new_case cerrojo
    package A "$(corte 21:05)" 41
    package B "$(corte 21:10)" 42
    package C "$(corte 21:15)" 43
    start_server
    publish A
    rm -f "$C/store/journal.lock"
    mkdir "$C/store/journal.lock"
    chown "$LOADER_NAME:" "$C/store/journal.lock"
    local p0
    p0=$(journal_count published)
    upload B
    wait_until 30 serves_time "$(corte 21:10)" || bad "B was not published while the journal cannot be written"
    check_journal "while the journal cannot be written" >/dev/null
    rmdir "$C/store/journal.lock"
    upload C
    wait_until 30 serves_time "$(corte 21:15)" || bad "C was not published after the lock came back"
    wait_until 10 has_event_after published "$p0" || bad "C's \"published\" was not journaled once the lock came back"
    check_journal "after the lock came back" >/dev/null
    grep -q 'journal' "$C/logs/error_log" || bad "the error log does not mention the journal failing"
    finish "B published with journal.lock a directory; C journaled again"
}

# ---------------------------------------------------------------- 5
case_5() {
    new_case lleno
    if ! mount -t tmpfs -o "size=20m,mode=0755,uid=$(id -u "$LOADER_NAME"),gid=$(id -g "$LOADER_NAME")" \
        tmpfs "$C/store"; then
        log "SKIP: cannot mount a tmpfs"
        exit 77
    fi
    MOUNTS+=("$C/store")
    package A "$(corte 21:05)" 51
    python3 "$GEN" "$PKG/B.tar.gz" --corte "$(corte 21:10)" --files 2000 --seed 52 >/dev/null 2>&1
    chmod 644 "$PKG/B.tar.gz"
    start_server
    publish A
    local avail
    avail=$(df --output=avail -B1M "$C/store" | tail -1 | tr -d ' ')
    dd if=/dev/zero of="$C/store/filler" bs=1M count=$((avail - 3)) status=none 2>/dev/null || true
    # the last few kilobytes too, so that a journal line cannot fit whole
    dd if=/dev/zero of="$C/store/filler2" bs=4k status=none 2>/dev/null || true
    upload B
    wait_until 30 has_problem || bad "no problem in the status while the store is full"
    sleep 2
    serves_time "$(corte 21:05)" || bad "the served corte changed while the store is full"
    check_journal "while the store is full" >/dev/null
    rm -f "$C/store/filler" "$C/store/filler2"
    wait_until 40 serves_time "$(corte 21:10)" || bad "B was not published once space was freed"
    wait_until 10 sh -c "grep -q '\"published\"' '$C/store/journal.jsonl' && tail -5 '$C/store/journal.jsonl' | grep -q '21:10'" ||
        bad "B's publication was not journaled once space was freed"
    check_journal "after space was freed" >/dev/null
    finish "the store filled up: whole lines only; B published and journaled once space was freed"
}

# ---------------------------------------------------------------- 6
drill_header() {
    curl -s -D - -o /dev/null --max-time 5 "$BASE/prep/$FEED/json/main.json" | grep -qi '^x-prep-drill: *1'
}
case_6() {
    new_case parado
    package A "$(corte 21:05)" 61
    package B "$(corte 21:10)" 62
    start_server
    publish A
    publish B
    stop_httpd "$C"
    [ -z "$(httpd_pid "$C")" ] || fail "httpd did not stop"
    [ -s "$C/run/mod_prep-feeds.json" ] || fail "the runtime file is gone after the stop"

    pctl_ok rollback "$FEED"
    pctl_ok drill "$FEED" on
    owned_by_loader "prepctl while httpd is stopped"
    start_server
    wait_until 10 serves_time "$(corte 21:05)" || bad "after the start $(served_time) is served, not A (the rollback made while stopped)"
    is_state pinned || bad "after the start the state is $(state), not pinned"
    wait_until 5 drill_header || bad "the drill switched on while stopped gives no X-PREP-Drill after the start"

    "$HTTPD" -f "$C/httpd.conf" -k graceful || fail "httpd -k graceful"
    sleep 3
    wait_until 10 is_state pinned || bad "after a graceful restart the state is $(state), not pinned"
    serves_time "$(corte 21:05)" || bad "after a graceful restart $(served_time) is served, not A"
    stop_httpd "$C"
    start_server
    wait_until 10 is_state pinned || bad "after a stop and start the state is $(state), not pinned"
    serves_time "$(corte 21:05)" || bad "after a stop and start $(served_time) is served, not A"

    stop_httpd "$C"
    pctl_ok unpin "$FEED"
    pctl_ok drill "$FEED" off
    start_server
    wait_until 10 serves_time "$(corte 21:10)" || bad "the unpin made while stopped does not serve B at the start ($(served_time))"
    drill_header && bad "the drill switched off while stopped still gives X-PREP-Drill"
    finish "rollback, drill, unpin made while httpd was stopped took effect at its start; the pin held through graceful and stop/start"
}

declare -a ROWS=()
FAILED=0
for N in $CASES; do
    [ -n "${CASE_NAME[$N]:-}" ] || { echo "operator: no case $N"; exit 2; }
    echo
    echo "==== operator case $N: ${CASE_NAME[$N]}"
    t=$SECONDS
    rm -f "$W/failures.$N"
    (
        trap case_cleanup EXIT
        "case_$N"
    )
    rc=$?
    secs=$((SECONDS - t))
    if [ "$rc" = 0 ]; then
        ROWS+=("$(printf '%3s  %-36s PASS %4ss' "$N" "${CASE_NAME[$N]}" "$secs")")
    elif [ "$rc" = 77 ]; then
        ROWS+=("$(printf '%3s  %-36s SKIP %4ss' "$N" "${CASE_NAME[$N]}" "$secs")")
    else
        FAILED=1
        why=$(head -1 "$W/failures.$N" 2>/dev/null | cut -c1-110)
        ROWS+=("$(printf '%3s  %-36s FAIL %4ss  %s' "$N" "${CASE_NAME[$N]}" "$secs" "${why:-exit $rc}")")
    fi
done
echo
echo "==== operator ($((SECONDS - T0))s)"
printf '%s\n' "${ROWS[@]}"
if [ "$FAILED" = 0 ] && [ "${PREP_TEST_KEEP:-0}" != 1 ]; then
    rm -rf "$W"
else
    echo "operator: the work directory is kept: $W"
fi
exit "$FAILED"
