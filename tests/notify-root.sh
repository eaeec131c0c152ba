#!/usr/bin/env bash
# tests/notify-root.sh — PrepNotify with the real accounts (root only, like
# privdrop.sh): httpd started as root with `User prepci`.
#   1  with `PrepUser prep` the intake runs as prep, yet the command runs as
#      the server's User (`id -u` is prepci's, not prep's), for "start" and
#      for a package's "seen" and "published"; the store stays prep's.
#   2  the notifier killed while the intake runs as PrepUser: the intake
#      logs PREP0158 once, goes on publishing, and no command runs any more
#      (it cannot become the User again) until httpd restarts.
#   3  without PrepUser (the intake is the User already): the notifier
#      killed is logged (PREP0159) and started again, and the next
#      package's events run the command.
#
#   tests/notify-root.sh [TOP] [CASES…]    e.g. tests/notify-root.sh . 1 3
set -euo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
shift || true
CASES=${*:-1 2 3}
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup notify || exit 0

C=""
fail() {
    echo "notify-root: FAIL: $*"
    if [ -n "$C" ]; then
        echo "---- error_log (last 40 lines)"
        tail -40 "$C/logs/error_log" 2>/dev/null || true
        echo "---- records"
        head -50 "$C"/rec/*.rec 2>/dev/null || true
    fi
    exit 1
}
cleanup() {
    [ -z "$C" ] || stop_httpd "$C"
    if [ "${PREP_TEST_KEEP:-0}" = 1 ]; then
        echo "notify-root: kept $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

# The PrepNotify command: one file per run, REC/N-EVENT, with `id -u`.
write_command() {
    cat >"$W/record" <<'EOF'
#!/bin/sh
dir=$1
n=$(ls "$dir" | wc -l)
printf 'uid=%s\nevent=%s\nfeed=%s\nserved=%s\n' "$(id -u)" "$2" "$3" "$PREP_SERVED_ID" \
    >"$dir/$(printf %04d "$n")-$2.rec"
echo "ok $2"
EOF
    chmod 755 "$W/record"
}

# start_server CASE [with PrepUser: 1|0]
start_server() {
    local case=$1 with_loader=$2
    C="$W/c$case"
    mkdir -p "$C/logs" "$C/run" "$C/rec"
    chown "$USER_NAME:$GROUP_NAME" "$C/rec"
    if [ "$with_loader" = 1 ]; then
        accounts_setup "$C"
    else
        unset LOADER_NAME
        mkdir -p "$C/incoming" "$C/store"
        chown "$USER_NAME:$GROUP_NAME" "$C/incoming" "$C/store"
    fi
    PORT=$(free_port)
    BASE="http://127.0.0.1:$PORT"
    EXTRA_FEED_CONF="    PrepNotify $W/record $C/rec" write_server_conf "$C" "$PORT" aviso
    "$HTTPD" -t -f "$C/httpd.conf" >/dev/null 2>&1 || fail "httpd -t: $("$HTTPD" -t -f "$C/httpd.conf" 2>&1)"
    "$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start"
    local up=0
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null "$BASE/prep-status"; then up=1; break; fi
        sleep 0.2
    done
    [ "$up" = 1 ] || fail "server did not answer on $BASE"
}

# wait_record EVENT [SECONDS]: the newest record of EVENT, within SECONDS.
wait_record() {
    local f
    for _ in $(seq 1 $((${2:-15} * 5))); do
        f=$(ls "$C/rec/"*"-$1.rec" 2>/dev/null | tail -1 || true)
        [ -n "$f" ] && { echo "$f"; return 0; }
        sleep 0.2
    done
    return 1
}
field() { sed -n "s/^$1=//p" "$2"; }

# upload NAME HHMM SEED: a package into incoming, as SFTP does it.
upload() {
    python3 "$TOP/tests/genpackage.py" "$W/$1" --files 30 --seed "$3" \
        --corte "2024-06-02T$2:00-06:00" >/dev/null
    cp "$W/$1" "$C/incoming/$1.part"
    mv "$C/incoming/$1.part" "$C/incoming/$1"
}
wait_corte_of() { # ID-SUFFIX-FREE: waits until the corte time is served
    for _ in $(seq 1 100); do
        [ "$(feed_status "$BASE" aviso 'f["corte"]["time"]')" = "$1" ] && return 0
        sleep 0.2
    done
    return 1
}

# The notifier: the intake's child that is not a loader (idle intake).
notifier_pid() {
    local intake
    intake=$(intake_pid_of "$C")
    [ -n "$intake" ] || return 0
    ps -o pid= --ppid "$intake" | tr -d ' ' | head -1
}

write_command
USER_UID=$(id -u "$USER_NAME")

case_1() {
    start_server 1 1
    local loader_uid f
    loader_uid=$(id -u "$LOADER_NAME")
    f=$(wait_record start) || fail "1: no run for start"
    [ "$(field uid "$f")" = "$USER_UID" ] || fail "1: start ran as uid $(field uid "$f"), not the User's $USER_UID"
    local intake
    intake=$(intake_pid_of "$C")
    [ "$(ps -o uid= -p "$intake" | tr -d ' ')" = "$loader_uid" ] || fail "1: the intake does not run as PrepUser"
    upload PREP_aviso_2105.tar.gz 21:05 1
    wait_corte_of 2024-06-02T21:05:00-06:00 || fail "1: the package was not published"
    f=$(wait_record published) || fail "1: no run for published"
    [ "$(field uid "$f")" = "$USER_UID" ] || fail "1: published ran as uid $(field uid "$f") (loader $loader_uid), not the User's $USER_UID"
    [ -n "$(field served "$f")" ] || fail "1: published: no PREP_SERVED_ID"
    f=$(wait_record seen) || fail "1: no run for seen"
    [ "$(field uid "$f")" = "$USER_UID" ] || fail "1: seen ran as uid $(field uid "$f")"
    [ -z "$(find "$C/store" ! -user "$LOADER_NAME" -printf '%p\n')" ] || fail "1: files in the store not the loader's"
    grep -q 'PREP0147: feed aviso: PrepNotify .* for published ended with status 0' "$C/logs/error_log" ||
        fail "1: no PREP0147 for published"
    grep -q "PREP0150: .*notifier started .*as uid $USER_UID" "$C/logs/error_log" || fail "1: PREP0150 does not say the User's uid"
    echo "notify-root: 1 OK (commands as uid $USER_UID, intake as $loader_uid)"
    # --- 2: the notifier killed, with PrepUser
    local np
    np=$(notifier_pid)
    [ -n "$np" ] || fail "2: no notifier process"
    [ "$(ps -o uid= -p "$np" | tr -d ' ')" = "$USER_UID" ] || fail "2: the notifier does not run as the User"
    if [[ " $CASES " == *" 2 "* ]]; then
        kill -KILL "$np"
        for _ in $(seq 1 50); do
            grep -q PREP0158 "$C/logs/error_log" && break
            sleep 0.2
        done
        grep -q 'PREP0158: .*no notification until httpd restarts' "$C/logs/error_log" || fail "2: no PREP0158"
        local before
        before=$(ls "$C/rec" | wc -l)
        upload PREP_aviso_2110.tar.gz 21:10 2
        wait_corte_of 2024-06-02T21:10:00-06:00 || fail "2: publishing stopped with the notifier"
        sleep 2
        [ "$(ls "$C/rec" | wc -l)" = "$before" ] || fail "2: a command ran after the notifier ended"
        [ "$(grep -c PREP0158 "$C/logs/error_log")" = 1 ] || fail "2: PREP0158 logged more than once"
        [ -z "$(notifier_pid)" ] || fail "2: a notifier was started again as PrepUser"
        kill -0 "$intake" || fail "2: the intake died with the notifier"
        echo "notify-root: 2 OK (PREP0158 once, publishing goes on, no command)"
    fi
    stop_httpd "$C"
}

case_3() {
    start_server 3 0
    wait_record start >/dev/null || fail "3: no run for start"
    local np
    np=$(notifier_pid)
    [ -n "$np" ] || fail "3: no notifier process"
    kill -KILL "$np"
    for _ in $(seq 1 50); do
        grep -q PREP0159 "$C/logs/error_log" && break
        sleep 0.2
    done
    grep -q 'PREP0159: .*starting another' "$C/logs/error_log" || fail "3: no PREP0159"
    upload PREP_aviso_2105.tar.gz 21:05 3
    wait_corte_of 2024-06-02T21:05:00-06:00 || fail "3: the package was not published"
    f=$(wait_record published 20) || fail "3: no run for published after the notifier was started again"
    [ "$(field uid "$f")" = "$USER_UID" ] || fail "3: published ran as uid $(field uid "$f")"
    local np2
    np2=$(notifier_pid)
    [ -n "$np2" ] && [ "$np2" != "$np" ] || fail "3: no new notifier"
    echo "notify-root: 3 OK (notifier $np killed, $np2 started, published notified)"
    stop_httpd "$C"
}

if [[ " $CASES " == *" 1 "* || " $CASES " == *" 2 "* ]]; then case_1; fi
if [[ " $CASES " == *" 3 "* ]]; then case_3; fi
echo "notify-root: OK"
