#!/usr/bin/env bash
# tests/faults.sh — the last good corte survives the faults of election
# night.  httpd is started as root with `User prepci` (like privdrop.sh),
# one server and one feed per case, on 127.0.0.1, and each case checks that
# the corte served (json/main.json, byte for byte) is the expected package's:
#
#   a. the store's filesystem fills up during a load (a 20 MB tmpfs as
#      PrepStore): the old corte stays, nothing partial, the log and the
#      status say "no space", the package waits in incoming and is taken
#      by itself once space is freed; the journal has one "store-problem"
#      (its message says so) however many tries, then one "store-ok";
#   b. the loader is killed (SIGKILL) mid-load: nothing partial, the retry
#      publishes the package; the journal has "loader-crash" (package,
#      status 9, retry true), and no refusal nor second "seen";
#   c. httpd is killed (SIGKILL): its process group mid-load (the intake,
#      in a group of its own, must end with its loader), then every process
#      at once at the swap; each time, started again with no package
#      waiting, it serves the last published corte at once, STORE/current
#      names a complete corte, and the staging leftovers are removed;
#   d. the store becomes unwritable (chmod 555 STORE/cortes, then STORE):
#      the old corte stays, the status and log say why, and after chmod
#      back the waiting package is published; each time the journal has
#      one "store-problem" saying why, then one "store-ok";
#   e. 50 packages arrive at once: no crash, the newest is taken first
#      (after the one renamed first, which a watched incoming may load at
#      once) and served, the others refused as older, never an older corte over a
#      newer one, and the server answers throughout;
#   f. the intake is killed (SIGKILL): mid-load, its loader ends with it
#      and the intake the parent starts in its place loads the package
#      again; idle, it is restarted at once (from its other-child callback,
#      not the monitor's ten-second tick): a package uploaded at the kill is
#      published within PrepSettleTime + 2 s of it, and the error log says
#      "restarting it"; each time the journal has "intake-restart" (old_pid
#      the killed intake, status 9, the server's pid, the corte served);
#      killed three times in a row as soon as it starts,
#      it is restarted by the monitor hook instead, and still publishes.
#   g. the loader is killed (SIGKILL) after BIGZ (BIG as gzip: the others'
#      BIG is bzip2, seconds to unpack) went live and before it made
#      the variants it deferred (over 16 MB to compress): BIG stays served,
#      its uncompressed bytes; the intake publishes it again from its
#      package (PREP0179, "republished" why "variants"), which completes it
#      ("completed", corte.variants.pending 0, main.json served gzip).
#
# Needs root (skips otherwise): mount, and a server User that permissions
# bind.  About 2–3 minutes.
#
#   tests/faults.sh [TOP] [CASE...]   TOP: the built tree; CASE: a b c d e f g
#
# Environment: PREP_TEST_USER (prepci), PREP_SO (TOP/.libs/mod_prep.so),
# PREP_TEST_KEEP=1 keeps the work directory.
set -euo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
shift || true
CASES=${*:-a b c d e f g}
GEN="$TOP/tests/genpackage.py"
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup faults || exit 0
declare -a MOUNTS=() PGROUPS=() BG_PIDS=()
FAILED=0
T0=$SECONDS

# Per case: C (its directory), FEED (its feed name), BASE (its URL).
C="" FEED="" BASE=""

log() { echo "faults[$FEED]: $*"; }

# A failed assertion ends the case (not the script): the rest still run.
fail() {
    echo "faults[$FEED]: FAIL: $*"
    echo "---- $FEED error_log (last 30 lines)"
    tail -30 "$C/logs/error_log" 2>/dev/null || true
    echo "---- $FEED store and incoming"
    find "$C/store" "$C/incoming" -maxdepth 2 -printf '%u %m %s %p\n' 2>/dev/null | head -40 || true
    exit 1
}

server_pid() { httpd_pid "$C"; }
intake_pid() { intake_pid_of "$C"; }
loader_pid() { loader_pids_of "$C" | head -1; }

stop_server() { stop_httpd "$C"; }

# End of a case (it runs in a subshell): its server, its client, its mount.
case_cleanup() {
    local pid m
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    [ -z "$C" ] || stop_server
    for pid in "${PGROUPS[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    for m in "${MOUNTS[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

# End of the script: whatever a case left behind, then the work directory.
cleanup() {
    local d m
    for d in "$W"/*/; do
        [ -e "$d/httpd.conf" ] || continue
        C=${d%/}
        stop_server
    done
    for m in $(awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/mounts); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    if [ "${PREP_TEST_KEEP:-0}" = 1 ] || [ "$FAILED" != 0 ]; then
        echo "faults: kept $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# new_case NAME: a fresh feed NAME with its own incoming, store and server.
new_case() {
    FEED=$1
    C="$W/$FEED"
    mkdir -p "$C/incoming" "$C/store" "$C/logs" "$C/run" "$C/ref"
    chown "$USER_NAME:$GROUP_NAME" "$C/incoming" "$C/store"
    local port
    port=$(free_port)
    BASE="http://127.0.0.1:$port"
    write_server_conf "$C" "$port" "$FEED"
}

start_server() {
    "$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start"
    wait_until 20 "the server to answer on $BASE" curl -s -o /dev/null --max-time 2 "$BASE/prep-status" ||
        fail "server did not answer on $BASE"
    local intake
    for _ in $(seq 1 50); do
        intake=$(intake_pid)
        [ -n "$intake" ] && break
        sleep 0.1
    done
    [ -n "$intake" ] && PGROUPS+=("$intake")
    return 0
}

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it
# succeeds (0) or SECONDS pass (1).
wait_until() {
    local secs=$1 what=$2 end
    shift 2
    end=$((SECONDS + secs))
    while [ "$SECONDS" -lt "$end" ]; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "faults[$FEED]: gave up after ${secs}s waiting for $what"
    return 1
}

# status EXPR: a Python expression over `f`, the feed's status object.
status() { feed_status "$BASE" "$FEED" "$1"; }
served_id() { status '(f.get("corte") or {}).get("id")'; }
problem() { status '(f.get("problem") or {}).get("message")'; }
rejected() { status '" | ".join(r["package"] + ": " + r["reason"] for r in f.get("rejected") or [])'; }
current() { cat "$C/store/current" 2>/dev/null | tr -d '\n' || true; }
is_served() { [ -n "$1" ] && [ "$(served_id)" = "$1" ]; }
is_published() { [ -n "$(served_id)" ] && [ "$(served_id)" != "$1" ]; }
has_problem() { [ -n "$(problem)" ]; }
no_problem() { [ -z "$(problem)" ]; }
tried_twice() { [ "$(grep -c "package $1.tar.gz not loaded" "$C/logs/error_log")" -ge 2 ]; }
pending() {
    local f n=0
    for f in "$C/incoming"/*.tar.gz; do
        [ -e "$f" ] && n=$((n + 1))
    done
    echo "$n"
}
none_pending() { [ "$(pending)" = 0 ]; }
staging_empty() { [ -z "$(ls -A "$C/store/staging" 2>/dev/null)" ]; }

# journal EXPR [FROM]: a Python expression over `j`, the lines of the
# feed's STORE/journal.jsonl from line FROM (0) on, decoded (a line that is
# not JSON is {}); ev(NAME) is the list of its lines of event NAME, pos(NAME)
# their indexes.  Prints the value (dicts, lists and booleans as JSON).
journal() {
    python3 - "$C/store/journal.jsonl" "${2:-0}" "$1" <<'EOF'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as fh:
        lines = fh.read().split("\n")
except OSError:
    lines = []
j = []
for line in lines[int(sys.argv[2]):]:
    if line.strip():
        try:
            j.append(json.loads(line))
        except ValueError:
            j.append({})
def ev(name):
    return [e for e in j if e.get("event") == name]
def pos(name):
    return [i for i, e in enumerate(j) if e.get("event") == name]
try:
    v = eval(sys.argv[3])
except Exception:
    v = None
print("" if v is None else json.dumps(v) if isinstance(v, (dict, list, bool)) else v)
EOF
}
journal_len() { if [ -e "$C/store/journal.jsonl" ]; then wc -l <"$C/store/journal.jsonl"; else echo 0; fi; }
# journal_has N EVENT FROM: the journal has exactly N lines of EVENT from line FROM on.
journal_has() { [ "$(journal "len(ev('$2'))" "$3")" = "$1" ]; }
# journal_tail FROM: its lines from FROM on, for a failure's message.
journal_tail() { tail -n "+$(($1 + 1))" "$C/store/journal.jsonl" 2>/dev/null | cut -c1-300; }

# package NAME CORTE-MINUTE ARGS...: writes $W/pkg/NAME.tar.gz (corte at
# 2024-06-02 HH:MM -06:00) and its json/main.json in $W/pkg/NAME.main.json.
package() {
    local name=$1 hhmm=$2
    shift 2
    mkdir -p "$W/pkg"
    python3 "$GEN" "$W/pkg/$name.tar.gz" --corte "2024-06-02T$hhmm:00-06:00" "$@" 2>/dev/null ||
        fail "genpackage $name"
    tar -xzf "$W/pkg/$name.tar.gz" -O prep_qro/json/main.json >"$W/pkg/$name.main.json"
}

# upload NAME: what an SFTP upload looks like: NAME.part, then renamed.
upload() {
    cp "$W/pkg/$1.tar.gz" "$C/incoming/$1.tar.gz.part"
    mv "$C/incoming/$1.tar.gz.part" "$C/incoming/$1.tar.gz"
}

# serves NAME: json/main.json served is byte-identical to package NAME's.
serves() {
    curl -s --max-time 5 -o "$C/served.json" "$BASE/prep/$FEED/json/main.json" &&
        cmp -s "$C/served.json" "$W/pkg/$1.main.json"
}
assert_serves() {
    serves "$1" || fail "$2: json/main.json served is not package $1's ($(head -c 120 "$C/served.json" 2>/dev/null))"
}

# A corte directory is complete when it has its index, pack and corte.json.
complete_corte() {
    [ -s "$C/store/cortes/$1/index.prep" ] && [ -e "$C/store/cortes/$1/content.pack" ] &&
        [ -s "$C/store/cortes/$1/corte.json" ]
}

# publish_first NAME: uploads NAME and waits until it is served.
publish_first() {
    upload "$1"
    wait_until 30 "$1 to be published" is_published "" || fail "$1 was not published within 30 s"
    assert_serves "$1" "after the first upload"
    complete_corte "$(current)" || fail "STORE/current ($(current)) is not a complete corte"
}

# ---------------------------------------------------------------- a. disk full
case_a() {
    new_case full
    if ! mount -t tmpfs -o "size=20m,mode=0755,uid=$(id -u "$USER_NAME"),gid=$(id -g "$USER_NAME")" \
        tmpfs "$C/store"; then
        log "SKIP: cannot mount a tmpfs (a container without CAP_SYS_ADMIN?)"
        exit 77
    fi
    MOUNTS+=("$C/store")
    start_server
    publish_first A
    local a_id a_current avail
    a_id=$(served_id)
    a_current=$(current)

    # Fill the store but 3 MB: package B (~7 MB unpacked) cannot fit.
    avail=$(df --output=avail -B1M "$C/store" | tail -1 | tr -d ' ')
    dd if=/dev/zero of="$C/store/filler" bs=1M count=$((avail - 3)) status=none 2>/dev/null || true
    log "store: $(df -h --output=size,used,avail "$C/store" | tail -1)"
    local j0
    j0=$(journal_len)
    upload B
    wait_until 30 "a problem in the status" has_problem ||
        fail "no problem in the status while the store is full (rejected: $(rejected))"
    local msg
    msg=$(problem)
    log "status problem: $msg"
    echo "$msg" | grep -qiE 'space|full' || fail "the status problem does not say the disk is full: $msg"
    grep -qiE 'no space left|full' "$C/logs/error_log" ||
        fail "the error log does not say the disk is full"
    # the retry while the store stays full: nothing moves
    wait_until 20 "a second try of B" tried_twice B || fail "B was not tried again while the store was full"
    [ "$(current)" = "$a_current" ] || fail "STORE/current changed while the store is full: $(current)"
    is_served "$a_id" || fail "the served corte changed while the store is full: $(served_id)"
    assert_serves A "while the store is full"
    [ -e "$C/incoming/B.tar.gz" ] ||
        fail "B.tar.gz left incoming while the store was full (set aside: $(ls "$C/incoming"/*/ 2>/dev/null | tr '\n' ' '))"
    [ ! -e "$C/store/rejected/B.tar.gz" ] || fail "B.tar.gz was refused for a full disk"
    [ "$(ls "$C/store/cortes")" = "$a_id" ] || fail "a partial corte in STORE/cortes: $(ls "$C/store/cortes" | tr '\n' ' ')"
    wait_until 10 "staging to be emptied" staging_empty ||
        fail "staging not cleaned after the failed load: $(ls -A "$C/store/staging" | tr '\n' ' ')"
    # The journal: one "store-problem" for the whole streak of tries.
    journal_has 1 store-problem "$j0" ||
        fail "the journal does not have one \"store-problem\" after two tries: $(journal_tail "$j0")"
    msg=$(journal "ev('store-problem')[0].get('message')" "$j0")
    log "journal store-problem: $msg"
    echo "$msg" | grep -qiE 'space|full' || fail "the journal's store-problem message does not say the disk is full: $msg"
    journal_has 0 store-ok "$j0" || fail "\"store-ok\" journaled while the store is still full"

    # Space comes back: B is taken on the next try, with no one's help.
    rm -f "$C/store/filler"
    wait_until 30 "B to be published" is_published "$a_id" ||
        fail "B was not published within 30 s after space was freed"
    assert_serves B "after space was freed"
    complete_corte "$(current)" || fail "STORE/current ($(current)) is not a complete corte"
    wait_until 5 "the problem to clear" no_problem || fail "the status problem stays after the publish: $(problem)"
    wait_until 30 "staging to be emptied (a completion ends)" staging_empty ||
        fail "staging not cleaned: $(ls -A "$C/store/staging" | tr '\n' ' ')"
    wait_until 5 "\"store-ok\" in the journal" journal_has 1 store-ok "$j0" ||
        fail "no single \"store-ok\" in the journal once B was published: $(journal_tail "$j0")"
    journal_has 1 store-problem "$j0" || fail "more than one \"store-problem\": $(journal_tail "$j0")"
    [ "$(journal "pos('store-problem')[0] < pos('store-ok')[0]" "$j0")" = true ] ||
        fail "\"store-ok\" is not after \"store-problem\""
    log "OK (B waited in incoming while the store was full, published once space came back)"
}

# ---------------------------------------------------------------- b. loader killed
# staging_bytes: how much the loaders have written in staging.
staging_bytes() { du -sb "$C/store/staging" 2>/dev/null | cut -f1; }
mid_load() {
    [ -n "$(loader_pid)" ] && [ "$(staging_bytes)" -gt 20000000 ]
}

# kill_loader_mid_load INTAKE: the intake's loader stopped and killed
# mid-load (tests/staging-watch.py loader).
kill_loader_mid_load() {
    python3 "$TOP/tests/staging-watch.py" "$C/store/staging" loader "$1" "$C/store/journal.jsonl"
}

case_b() {
    new_case killed
    start_server
    publish_first A
    local a_id a_current how j0 crash
    a_id=$(served_id)
    a_current=$(current)
    upload BIG
    how=$(kill_loader_mid_load "$(intake_pid)") || true
    case "$how" in
        killed*) log "killed loader $(echo "${how#killed }" | cut -d' ' -f1-2) bytes in staging)" ;;
        *) fail "the loader of BIG could not be killed mid-load: $how" ;;
    esac
    j0=${how##* }
    sleep 1
    wait_until 5 "\"loader-crash\" in the journal" journal_has 1 loader-crash "$j0" ||
        fail "no single \"loader-crash\" in the journal after the kill: $(journal_tail "$j0")"
    crash=$(journal "ev('loader-crash')[0]" "$j0")
    log "journal loader-crash: $crash"
    [ "$(journal "ev('loader-crash')[0].get('package')" "$j0")" = BIG.tar.gz ] ||
        fail "loader-crash: package is not BIG.tar.gz: $crash"
    [ "$(journal "ev('loader-crash')[0].get('status')" "$j0")" = 9 ] ||
        fail "loader-crash: status is not 9 (killed by signal 9): $crash"
    [ "$(journal "ev('loader-crash')[0].get('retry')" "$j0")" = true ] ||
        fail "loader-crash: retry is not true: $crash"
    journal "ev('loader-crash')[0].get('message')" "$j0" | grep -q 'signal 9' ||
        fail "loader-crash: the message does not name signal 9: $crash"
    [ "$(current)" = "$a_current" ] || fail "STORE/current changed by a killed loader: $(current)"
    assert_serves A "after the loader was killed"
    [ "$(ls "$C/store/cortes")" = "$a_id" ] || fail "a partial corte in STORE/cortes: $(ls "$C/store/cortes" | tr '\n' ' ')"
    wait_until 90 "BIG to be published on the retry" is_published "$a_id" ||
        fail "BIG was not published by the retry within 90 s"
    assert_serves BIG "after the retry"
    complete_corte "$(current)" || fail "STORE/current ($(current)) is not a complete corte"
    grep -q "ended without a verdict" "$C/logs/error_log" || fail "the error log does not tell of the killed loader"
    journal_has 1 loader-crash "$j0" || fail "the retry journaled another \"loader-crash\": $(journal_tail "$j0")"
    journal_has 0 refused "$j0" || fail "the killed load was journaled as refused: $(journal_tail "$j0")"
    journal_has 0 seen "$j0" || fail "the retry was journaled as \"seen\" again: $(journal_tail "$j0")"
    wait_until 30 "staging to be emptied (a completion ends)" staging_empty ||
        fail "staging not cleaned: $(ls -A "$C/store/staging" | tr '\n' ' ')"
    log "OK (killed loader left nothing, the retry published BIG)"
}

# ---------------------------------------------------------------- c. httpd killed
# kill_at WHEN PGID...: SIGKILLs the process groups PGID (as `pkill -KILL
# -g`) while BIG loads: WHEN is "mid-load" (30 MB unpacked) or "swap" (the
# moment the built corte is renamed from staging/load-PID to staging/ID,
# before it is in cortes/).  Prints where it struck: mid-load, swap,
# after-swap (missed it) or timeout.
kill_at() {
    python3 "$TOP/tests/staging-watch.py" "$C/store/staging" groups "$@"
}

case_c() {
    new_case crash
    start_server
    publish_first A
    local a_id round when how pid pgid intake leftovers cur expect
    a_id=$(served_id)
    # Round 1: httpd's process group (the pid file's: the parent and its
    # children) mid-load; the intake leads a group of its own and must see
    # that httpd is gone and end, its loader with it.  Round 2: everything
    # at once (a power cut), at the swap.
    for round in 1 2; do
        pid=$(server_pid)
        pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
        intake=$(intake_pid)
        upload BIG
        if [ "$round" = 1 ]; then
            when=mid-load
            how=$(kill_at mid-load "$pgid")
        else
            when=swap
            how=$(kill_at swap "$pgid" "$intake")
        fi
        [ "$how" != timeout ] || fail "the load of BIG did not reach the $when within 90 s"
        wait_until 10 "httpd to be dead" sh -c "! kill -0 $pid 2>/dev/null" || fail "httpd survived SIGKILL"
        wait_until 5 "the intake and its loader to end" sh -c "! pgrep -g $intake >/dev/null" ||
            fail "the intake or its loader outlived the killed httpd: $(pgrep -g "$intake" | tr '\n' ' ')"
        leftovers=$(ls -A "$C/store/staging")
        cur=$(current)
        log "killed at the $how; current=$cur, staging: ${leftovers:-empty}, cortes: $(ls "$C/store/cortes" | tr '\n' ' ')"
        [ -n "$cur" ] && complete_corte "$cur" || fail "after the kill STORE/current ($cur) is not a complete corte"

        # Start again with no package waiting (BIG is uploaded again later):
        # the last published corte is served at once, the leftovers go.
        rm -f "$C/incoming/BIG.tar.gz"
        "$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start after the kill"
        wait_until 10 "the restarted server to serve $cur" is_served "$cur" ||
            fail "after the restart the served corte is $(served_id), not STORE/current $cur"
        expect=A
        [ "$cur" = "$a_id" ] || expect=BIG
        assert_serves "$expect" "right after the restart"
        PGROUPS+=("$(intake_pid)")
        wait_until 5 "staging to be emptied" staging_empty ||
            fail "staging left by the killed load is still there after the restart: $(ls -A "$C/store/staging" | tr '\n' ' ')"
        if [ "$expect" = BIG ]; then
            log "BIG was published before the kill"
            break
        fi
    done
    # and the interrupted package, uploaded again, is taken
    [ "$(served_id)" != "$a_id" ] || upload BIG
    wait_until 90 "BIG to be served" serves BIG || fail "BIG was not published after the restart"
    complete_corte "$(current)" || fail "STORE/current ($(current)) is not a complete corte"
    log "OK (killed mid-load and at the swap: restarted serving the last published corte at once, leftovers removed; then BIG)"
}

# ---------------------------------------------------------------- d. unwritable store
case_d() {
    new_case readonly
    start_server
    publish_first A
    local prev_id prev_current msg dir pkg before where j0
    # STORE/cortes not writable (the rename of the built corte fails), then
    # STORE itself (the corte gets into cortes/, STORE/current cannot be
    # replaced): each time the package waits and is published after chmod.
    for dir in cortes .; do
        pkg=B where=STORE/cortes
        [ "$dir" = cortes ] || pkg=C where=STORE
        before=A
        [ "$pkg" = B ] || before=B
        prev_id=$(served_id)
        prev_current=$(current)
        j0=$(journal_len)
        chmod 555 "$C/store/$dir"
        upload "$pkg"
        wait_until 30 "a problem in the status" has_problem ||
            fail "no problem in the status while $where is not writable (rejected: $(rejected))"
        msg=$(problem)
        log "$where 555: status problem: $msg"
        echo "$msg" | grep -qiE 'permission|writable' ||
            fail "the status problem does not say the store is not writable: $msg"
        grep -qiE "package $pkg.tar.gz not loaded: .*(permission denied|not writable)" "$C/logs/error_log" ||
            fail "the error log does not say the store is not writable"
        wait_until 20 "a second try of $pkg" tried_twice "$pkg" ||
            fail "$pkg was not tried again while $where was not writable"
        [ "$(current)" = "$prev_current" ] || fail "STORE/current changed while $where was not writable: $(current)"
        is_served "$prev_id" || fail "the served corte changed: $(served_id)"
        assert_serves "$before" "while $where is not writable"
        [ -e "$C/incoming/$pkg.tar.gz" ] ||
            fail "$pkg.tar.gz left incoming while $where was not writable (set aside: $(ls "$C/incoming"/*/ 2>/dev/null | tr '\n' ' '))"
        journal_has 1 store-problem "$j0" ||
            fail "the journal does not have one \"store-problem\" while $where is not writable: $(journal_tail "$j0")"
        msg=$(journal "ev('store-problem')[0].get('message')" "$j0")
        log "journal store-problem: $msg"
        echo "$msg" | grep -qiE 'permission|writable' ||
            fail "the journal's store-problem message does not say the store is not writable: $msg"
        journal_has 0 store-ok "$j0" || fail "\"store-ok\" journaled while $where is not writable"
        chmod 755 "$C/store/$dir"
        wait_until 30 "$pkg to be published" is_published "$prev_id" ||
            fail "$pkg was not published within 30 s after $where was writable again"
        assert_serves "$pkg" "after chmod back"
        complete_corte "$(current)" || fail "STORE/current ($(current)) is not a complete corte"
        wait_until 5 "the problem to clear" no_problem || fail "the status problem stays after the publish: $(problem)"
        wait_until 30 "staging to be emptied (a completion ends)" staging_empty ||
            fail "staging not cleaned: $(ls -A "$C/store/staging" | tr '\n' ' ')"
        wait_until 5 "\"store-ok\" in the journal" journal_has 1 store-ok "$j0" ||
            fail "no single \"store-ok\" in the journal once $pkg was published: $(journal_tail "$j0")"
        journal_has 1 store-problem "$j0" || fail "more than one \"store-problem\": $(journal_tail "$j0")"
        [ "$(journal "pos('store-problem')[0] < pos('store-ok')[0]" "$j0")" = true ] ||
            fail "\"store-ok\" is not after \"store-problem\""
    done
    log "OK (B and C waited while STORE/cortes, then STORE, were not writable, then were published)"
}

# ---------------------------------------------------------------- e. 50 at once
case_e() {
    new_case burst
    start_server
    publish_first A
    local i names=()
    for i in $(seq 1 50); do
        names+=("$(printf 'P%02d %02d:%02d' "$i" $((21 + i / 60)) $((i % 60)))")
    done
    printf '%s\n' "${names[@]}" | xargs -P 2 -L 1 sh -c '
        python3 "$0" "$1/$2.tar.gz" --files 60 --seed 9 --corte "2024-06-02T$3:00-06:00" 2>/dev/null &&
        tar -xzf "$1/$2.tar.gz" -O prep_qro/json/main.json >"$1/$2.main.json"' "$GEN" "$W/pkg" ||
        fail "genpackage for the 50 packages"
    # A client reads main.json all along: every answer a 200, corte times
    # never going back.
    (
        while :; do
            line=$(curl -s --max-time 5 -o /dev/null -D - -w 'code %{http_code}\n' \
                "$BASE/prep/$FEED/json/main.json" 2>/dev/null |
                tr -d '\r' | grep -iE '^(code|x-prep-corte:)' | tr '\n' ' ')
            echo "$line"
            sleep 0.05
        done
    ) >"$C/client.log" &
    BG_PIDS+=($!)
    local client=$!
    # All 50 land at the same moment, same mtime, in no particular order.
    mkdir "$W/batch"
    for i in $(seq 1 50); do
        cp "$W/pkg/$(printf 'P%02d' "$i").tar.gz" "$W/batch/"
    done
    touch -d '@'"$(date +%s)" "$W/batch"/*.tar.gz
    find "$W/batch" -name '*.tar.gz' | shuf | xargs mv -t "$C/incoming/"
    wait_until 120 "the 50 packages to be handled" none_pending ||
        fail "packages still in incoming after 120 s: $(pending)"
    sleep 1
    kill "$client" 2>/dev/null || true
    wait "$client" 2>/dev/null || true
    assert_serves P50 "after the burst"
    local published refused other
    published=$(grep -c 'published corte .* from P[0-9]*\.tar\.gz' "$C/logs/error_log" || true)
    refused=$(grep -c 'package P[0-9]*\.tar\.gz refused: older-corte' "$C/logs/error_log" || true)
    other=$(grep 'package P[0-9]*\.tar\.gz refused: ' "$C/logs/error_log" | grep -vc 'refused: older-corte' || true)
    log "published $published, refused as older $refused, refused otherwise $other"
    [ "$other" = 0 ] || fail "packages refused for another reason than older-corte"
    [ $((published + refused)) = 50 ] || fail "$published published + $refused refused is not 50"
    # moved in together (one mtime), the newest goes first (the greatest
    # name, which is the latest corte here): P50 is published and the
    # others are older than it, each refused as older-corte.  A rename is
    # complete and is loaded at once (inotify): the one package mv renamed
    # first may be loaded before the 49 others are in, and published when
    # it is newer than A; then P50 comes next, never a third.
    [ $((published + refused)) = 50 ] && [ "$published" -ge 1 ] && [ "$published" -le 2 ] ||
        fail "$published published, $refused refused: the newest of packages with one mtime not taken first (want 1 or 2 published: the first renamed in, then P50)"
    if [ "$published" = 2 ]; then
        local first
        first=$(grep -o 'loading package P[0-9]*\.tar\.gz' "$C/logs/error_log" | head -1 | grep -o 'P[0-9]*')
        grep -o 'published corte .* from P[0-9]*' "$C/logs/error_log" | head -1 | grep -q "from $first\$" ||
            fail "two published, and the first is not the first package loaded ($first): only a package loaded before the others were in may be"
    fi
    grep -q 'published corte .* from P50\.tar\.gz' "$C/logs/error_log" ||
        fail "the corte published is not P50's"
    # the publish order follows the corte times
    grep -o 'published corte [^ ]* (corte time [^)]*) from P[0-9]*' "$C/logs/error_log" |
        sed 's/.*corte time \([^)]*\)) from \(P[0-9]*\)/\1 \2/' >"$C/published.txt"
    sort -c "$C/published.txt" || fail "cortes published out of order: $(tr '\n' ' ' <"$C/published.txt")"
    ! grep -qE 'ended without a verdict|exit signal|Segmentation|AH00052' "$C/logs/error_log" ||
        fail "a process crashed during the burst"
    local bad
    bad=$(grep -vc 'code 200 ' "$C/client.log" || true)
    [ "$bad" = 0 ] || fail "$bad answers were not 200 during the burst: $(grep -v 'code 200 ' "$C/client.log" | head -3)"
    python3 - "$C/client.log" <<'EOF' || fail "the served corte went back in time during the burst"
import sys
last = ""
for line in open(sys.argv[1]):
    t = [w for w in line.split() if w[:4].isdigit() and "T" in w]
    if not t:
        continue
    if t[0] < last:
        print("faults: %s after %s" % (t[0], last))
        sys.exit(1)
    last = t[0]
EOF
    log "OK ($(wc -l <"$C/client.log") answers, all 200, corte times never back; P50 served)"
}

# ---------------------------------------------------------------- f. intake killed
# new_intake OLD: waits (up to 5 s) for an intake other than OLD and prints
# its pid; restart_line PID: the error log's line for intake PID's death.
new_intake() {
    local pid end=$((SECONDS + 5))
    while [ "$SECONDS" -lt "$end" ]; do
        pid=$(intake_pid)
        if [ -n "$pid" ] && [ "$pid" != "$1" ]; then
            echo "$pid"
            return 0
        fi
        sleep 0.02
    done
    return 1
}
restart_line() { grep "intake process $1 ended (status [0-9-]*); " "$C/logs/error_log" | tail -1; }
# restart_of OLD: the journal's "intake-restart" lines for intake OLD (a
# Python expression for `journal`); journaled_restart OLD FROM: exactly one.
restart_of() { echo "[e for e in ev('intake-restart') if e.get('old_pid') == $1]"; }
journaled_restart() { [ "$(journal "len($(restart_of "$1"))" "$2")" = 1 ]; }
# assert_intake_restart OLD SERVED FROM: the journal, from line FROM on,
# has one "intake-restart" for intake OLD, killed by signal 9, with the
# server's pid, a state, and SERVED as the id of the corte served.
assert_intake_restart() {
    local q line
    q=$(restart_of "$1")
    wait_until 5 "\"intake-restart\" of intake $1 in the journal" journaled_restart "$1" "$3" ||
        fail "no single \"intake-restart\" with old_pid $1 in the journal: $(journal_tail "$3")"
    line=$(journal "${q}[0]" "$3")
    log "journal intake-restart: ${line:0:160}"
    [ "$(journal "${q}[0].get('status')" "$3")" = 9 ] || fail "intake-restart: status is not 9: $line"
    [ "$(journal "${q}[0].get('pid')" "$3")" = "$(server_pid)" ] || fail "intake-restart: pid is not the server's: $line"
    [ "$(journal "(${q}[0].get('served') or {}).get('id')" "$3")" = "$2" ] ||
        fail "intake-restart: served is not corte $2: $line"
    [ -n "$(journal "${q}[0].get('state')" "$3")" ] || fail "intake-restart: no state: $line"
}
has_intake() { [ -n "$(intake_pid)" ]; }
# alive PID: PID runs (a zombie has ended)
alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}
now_ms() { date +%s%3N; }

case_f() {
    new_case intake
    start_server
    publish_first A
    local a_id big_id intake loader next t0 ms k line j0

    # Mid-load: the loader ends with its intake; the new intake, which
    # writes nothing while the old loader lives, loads BIG again.
    a_id=$(served_id)
    upload BIG
    wait_until 60 "the loader of BIG to be mid-load" mid_load || fail "no loader of BIG mid-load within 60 s"
    intake=$(intake_pid)
    loader=$(loader_pid)
    j0=$(journal_len)
    log "killing intake $intake mid-load (loader $loader, $(staging_bytes) bytes in staging)"
    kill -KILL "$intake"
    wait_until 2 "the loader of the killed intake to end" eval "! alive $loader" ||
        fail "loader $loader outlived its intake by 2 s"
    next=$(new_intake "$intake") || fail "no new intake within 5 s of the kill"
    PGROUPS+=("$next")
    line=$(restart_line "$intake")
    echo "$line" | grep -q 'restarting it' || fail "the error log does not say the intake was restarted: ${line:-nothing}"
    assert_serves A "after the intake was killed mid-load"
    assert_intake_restart "$intake" "$a_id" "$j0"
    wait_until 90 "BIG to be published by the new intake" is_published "$a_id" ||
        fail "BIG was not published within 90 s of the restart"
    assert_serves BIG "after the restart"
    complete_corte "$(current)" || fail "STORE/current ($(current)) is not a complete corte"
    wait_until 30 "staging to be emptied (a completion ends)" staging_empty ||
        fail "staging not cleaned: $(ls -A "$C/store/staging" | tr '\n' ' ')"
    big_id=$(served_id)

    # Idle: restarted at once, F published within PrepSettleTime + 2 s.
    intake=$next
    j0=$(journal_len)
    kill -KILL "$intake"
    t0=$(now_ms)
    upload F
    next=$(new_intake "$intake") || fail "no new intake within 5 s of the kill"
    PGROUPS+=("$next")
    log "intake $intake killed; intake $next started $(($(now_ms) - t0)) ms later"
    wait_until 10 "F to be published" is_published "$big_id" || fail "F was not published within 10 s of the kill"
    ms=$(($(now_ms) - t0))
    log "F published $ms ms after the kill (PrepSettleTime 1)"
    [ "$ms" -le 3000 ] || fail "F was published $ms ms after the kill: not within PrepSettleTime + 2 s"
    assert_serves F "after the restart"
    line=$(restart_line "$intake")
    echo "$line" | grep -q 'restarting it' || fail "the error log does not say the intake was restarted: ${line:-nothing}"
    assert_intake_restart "$intake" "$big_id" "$j0"

    # Killed as soon as it starts (within QUICK_DEATH, 3 s, of its start),
    # three times in a row: then the monitor restarts it, about ten seconds
    # later, rather than the death itself.
    sleep 3.5 # the intake started at F's kill is not killed "as it starts"
    intake=$next
    kill -KILL "$intake"
    for k in 1 2 3; do
        next=$(new_intake "$intake") || fail "no new intake after kill $k"
        intake=$next
        kill -KILL "$intake"
    done
    wait_until 3 "the parent to see the third quick death" eval 'restart_line "$intake" | grep -q "keeps ending as soon as it starts"' ||
        fail "the third quick death in a row is not left to the monitor: $(restart_line "$intake" || true)"
    ! has_intake || fail "an intake was started at once after the third quick death: $(intake_pid)"
    wait_until 25 "the monitor to restart the intake" has_intake ||
        fail "the monitor did not restart the intake within 25 s"
    PGROUPS+=("$(intake_pid)")
    upload G
    wait_until 15 "G to be published" is_published "$(served_id)" || fail "G was not published after the monitor's restart"
    assert_serves G "after the monitor's restart"
    log "OK (mid-load: the loader ended with its intake, BIG loaded again; idle: restarted at once, F published in $ms ms; quick deaths: left to the monitor)"
}

# ---------------------------------------------------------------- g. killed completing
# live_pending: BIGZ (BIG as gzip) is served with variants pending and no "completed" yet.
live_pending() {
    [ -n "$(loader_pid)" ] &&
        [ "$(journal "len([e for e in ev('published') if (e.get('corte') or {}).get('package') == 'BIGZ.tar.gz' and e['corte']['variants']['pending'] > 0])" "$j0")" = 1 ] &&
        journal_has 0 completed "$j0"
}
is_complete() { [ "$(status '(f.get("corte") or {}).get("variants", {}).get("pending")')" = 0 ]; }
gzip_served() {
    curl -s --max-time 5 -o /dev/null -D "$C/headers" -H 'Accept-Encoding: gzip' \
        "$BASE/prep/$FEED/json/main.json" && grep -qi '^content-encoding: gzip' "$C/headers"
}

case_g() {
    new_case completing
    start_server
    publish_first A
    local a_id big_id pid
    a_id=$(served_id)
    j0=$(journal_len)
    upload BIGZ
    wait_until 60 "BIGZ live with its variants pending" live_pending ||
        fail "BIGZ did not go live with variants pending: $(journal_tail "$j0")"
    pid=$(loader_pid)
    kill -KILL "$pid"
    big_id=$(served_id)
    [ "$big_id" != "$a_id" ] || fail "BIGZ is not the corte served"
    log "killed loader $pid while it completed $big_id"
    assert_serves BIGZ "with its variants pending"
    wait_until 60 "BIGZ published again and completed" journal_has 1 completed "$j0" ||
        fail "no \"completed\" after the kill: $(journal_tail "$j0")"
    [ "$(journal "[e.get('why') for e in ev('republished')]" "$j0")" = '["variants"]' ] ||
        fail "no single \"republished\" why variants: $(journal_tail "$j0")"
    grep -q PREP0179 "$C/logs/error_log" || fail "the error log does not say PREP0179"
    [ "$(served_id)" = "$big_id" ] || fail "another corte is served: $(served_id)"
    wait_until 10 "the status to say complete" is_complete || fail "corte.variants.pending is not 0"
    wait_until 10 "main.json served gzip" gzip_served || fail "main.json is not served gzip once complete"
    assert_serves BIGZ "once complete"
    complete_corte "$(current)" || fail "STORE/current ($(current)) is not a complete corte"
    log "OK (killed while completing: BIGZ stayed served, published again and completed)"
}

# ---------------------------------------------------------------- run
package A 21:05 --files 300 --seed 7
need_big=0
for c in $CASES; do
    case $c in
    a) package B 21:10 --files 300 --size-mb 2 --seed 8 ;;
    b | c | g) need_big=1 ;;
    f)
        need_big=1
        package F 21:20 --files 20 --seed 12
        package G 21:25 --files 20 --seed 13
        ;;
    d)
        [ -e "$W/pkg/B.tar.gz" ] || package B 21:10 --files 300 --size-mb 2 --seed 8
        package C 21:15 --files 300 --seed 10
        ;;
    esac
done
if [ "$need_big" = 1 ]; then
    package BIG 21:15 --size-mb 30 --seed 3
    # g wants it as it is: gzip, live in half a second with its variants
    # deferred; the others kill its load midway, so BIG itself is bzip2,
    # seconds to unpack (the same files, the same name)
    cp "$W/pkg/BIG.tar.gz" "$W/pkg/BIGZ.tar.gz"
    cp "$W/pkg/BIG.main.json" "$W/pkg/BIGZ.main.json"
    gzip -dc "$W/pkg/BIGZ.tar.gz" | bzip2 -1 >"$W/pkg/BIG.tar.gz"
fi

declare -a RESULTS=()
for c in $CASES; do
    t=$SECONDS
    set +e
    (
        set -e
        trap case_cleanup EXIT
        case_"$c"
    )
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then
        RESULTS+=("PASS  $c ($((SECONDS - t))s)")
    elif [ "$rc" = 77 ]; then
        RESULTS+=("SKIP  $c")
    else
        RESULTS+=("FAIL  $c ($((SECONDS - t))s)")
        FAILED=1
    fi
done
echo "==== faults ($((SECONDS - T0))s)"
printf '  %s\n' "${RESULTS[@]}"
exit "$FAILED"
