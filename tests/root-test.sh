# shellcheck shell=bash
# tests/root-test.sh — sourced by the root-only shell tests (privdrop.sh,
# faults.sh): they skip unless run as root, need the built module, run httpd
# as root with an unprivileged User (created if missing) and work in a
# directory of their own under /tmp.
#
#   . "$TOP/tests/root-test.sh"
#   root_test_setup NAME || exit 0
# root_test_setup sets USER_NAME GROUP_NAME HTTPD MODULES SO W (SO from
# PREP_SO, else TOP/.libs/mod_prep.so; TOP must be set) and fails, saying
# "skipped", when not root.  Also free_port and write_server_conf.
root_test_setup() {
    local name=$1
    USER_NAME=${PREP_TEST_USER:-prepci}
    HTTPD=${HTTPD:-/usr/sbin/apache2}
    MODULES=${MODULES:-/usr/lib/apache2/modules}
    SO=${PREP_SO:-$TOP/.libs/mod_prep.so}
    if [ "$(id -u)" != 0 ]; then
        echo "$name: not root, skipped"
        return 1
    fi
    [ -e "$SO" ] || { echo "$name: $SO not built"; exit 1; }
    id "$USER_NAME" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$USER_NAME"
    GROUP_NAME=$(id -gn "$USER_NAME")
    W=$(mktemp -d "/tmp/prep-$name.XXXXXX")
    chmod 755 "$W"
    PREP_TESTS=$TOP/tests
    export PREP_TESTS
}

# accounts_setup: the three accounts of docs/operations.md, for the tests
# that play the institute's uploader and the server's User against the
# loader.  Sets LOADER_NAME (PREP_TEST_LOADER, default prep: PrepUser, owns
# the store), UPLOADER_NAME (PREP_TEST_UPLOADER, default prepup: writes
# INCOMING only) beside USER_NAME (the server's User); creates the users
# when missing; makes DIR/incoming (LOADER:UPLOADER, 1770: the uploader
# writes it, the loader reads and empties it, the sticky bit keeps the
# uploader off names it does not own) and DIR/store (LOADER, 0755: the
# workers read it only).  Run commands as one of them with as_uploader /
# as_user (setpriv, no other groups).
accounts_setup() {
    local C=$1
    LOADER_NAME=${PREP_TEST_LOADER:-prep}
    UPLOADER_NAME=${PREP_TEST_UPLOADER:-prepup}
    id "$LOADER_NAME" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$LOADER_NAME"
    id "$UPLOADER_NAME" >/dev/null 2>&1 || useradd --user-group --create-home --shell /bin/bash "$UPLOADER_NAME"
    mkdir -p "$C/incoming" "$C/store"
    chown "$LOADER_NAME:$(id -gn "$UPLOADER_NAME")" "$C/incoming"
    chmod 1770 "$C/incoming"
    chown "$LOADER_NAME:$(id -gn "$LOADER_NAME")" "$C/store"
    chmod 0755 "$C/store"
}
as_uploader() {
    setpriv --reuid="$UPLOADER_NAME" --regid="$(id -gn "$UPLOADER_NAME")" --clear-groups -- "$@"
}
as_user() {
    setpriv --reuid="$USER_NAME" --regid="$GROUP_NAME" --clear-groups -- "$@"
}

# The httpd whose ServerRoot is DIR (its pid in DIR/run/httpd.pid), its
# intake (the child of the parent that leads a process group of its own)
# and the intake's loaders; stop_httpd DIR stops it by its pid, then any
# intake left (a loader stuck on a FIFO must not outlive its server).
httpd_pid() { cat "$1/run/httpd.pid" 2>/dev/null || true; }
intake_pid_of() { intake_of "$(httpd_pid "$1")"; }
# intake_of PID: the intake of the httpd whose parent is PID (the system
# Apache's too, tests/deb.sh).
intake_of() {
    local parent=$1 pid
    [ -n "$parent" ] || return 0
    for pid in $(ps -o pid= --ppid "$parent" 2>/dev/null); do
        if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then
            echo "$pid"
            return 0
        fi
    done
}
loader_pids_of() {
    local intake
    intake=$(intake_pid_of "$1")
    [ -n "$intake" ] || return 0
    ps -o pid= --ppid "$intake" 2>/dev/null | tr -d ' '
}
stop_httpd() {
    local pid intake
    pid=$(httpd_pid "$1")
    intake=$(intake_pid_of "$1")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    fi
    [ -z "$intake" ] || kill -KILL -- "-$intake" 2>/dev/null || true
    return 0
}

# feed_status BASE FEED EXPR: EXPR (Python, over `f`, the feed's object of
# BASE/prep-status) printed, empty when it is None or cannot be read.
feed_status() {
    curl -s --max-time 5 "$1/prep-status" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for f in d.get("feeds", []):
    if f.get("name") == sys.argv[1]:
        try:
            v = eval(sys.argv[2])
        except Exception:
            v = None
        print("" if v is None else v)' "$2" "$3"
}

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_server_conf DIR PORT FEED: DIR/httpd.conf for httpd started as root
# with the unprivileged User, listening on 127.0.0.1:PORT, one feed FEED
# (DIR/incoming, DIR/store, PrepSettleTime 1, the corte time from
# json/main.json) at /prep/FEED, and /prep-status.  With LOADER_NAME set
# (accounts_setup), `PrepUser LOADER_NAME` too; EXTRA_FEED_CONF is added
# inside <PrepFeed>.
write_server_conf() {
    local C=$1 port=$2 FEED=$3
    local prep_user=""
    [ -n "${LOADER_NAME:-}" ] && prep_user="PrepUser $LOADER_NAME"
    cat >"$C/httpd.conf" <<EOF
ServerRoot "$C"
DefaultRuntimeDir "$C/run"
PidFile "$C/run/httpd.pid"
ErrorLog "$C/logs/error_log"
LogLevel info
Listen 127.0.0.1:$port
ServerName 127.0.0.1
User $USER_NAME
Group $GROUP_NAME
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_host_module $MODULES/mod_authz_host.so
LoadModule prep_module "$SO"
$prep_user

<PrepFeed $FEED>
    PrepIncoming   $C/incoming
    PrepStore      $C/store
    PrepSettleTime 1
    PrepCorteTime  json json/main.json /fechaCorte
${EXTRA_FEED_CONF:-}
</PrepFeed>
<Location /prep/$FEED>
    SetHandler prep
    PrepServe $FEED
</Location>
<Location /prep-status>
    SetHandler prep-status
    Require ip 127.0.0.1
</Location>
EOF
}

# wait_until SECONDS COMMAND...: COMMAND every WAIT_STEP seconds (0.2) until
# it succeeds (0) or SECONDS pass (1).
wait_until() {
    local end=$((SECONDS + $1))
    shift
    while [ "$SECONDS" -lt "$end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep "${WAIT_STEP:-0.2}"
    done
    return 1
}

# fail MSG: an assertion that ends the test at once, told with the test's
# own `bad` (which records it) and `dump` (what the test shows of a
# failure), both defined by the test.
fail() {
    bad "$@"
    dump
    exit 1
}

# root_test_report NAME: the test's log and bad (a failure counted in
# FAILS), and a cleanup at exit that stops the httpd of directory C and
# removes W, unless something failed or PREP_TEST_KEEP=1.  The test defines
# dump (what it shows of a failure).
root_test_report() {
    REPORT_NAME=$1
    FAILS=0
    trap root_test_cleanup EXIT
}
log() { echo "$REPORT_NAME: $*"; }
bad() {
    log "FAIL: $*"
    FAILS=$((FAILS + 1))
}
root_test_cleanup() {
    stop_httpd "$C"
    if [ "$FAILS" != 0 ] || [ "${PREP_TEST_KEEP:-0}" = 1 ]; then
        log "the run is kept in $W"
    else
        rm -rf "$W"
    fi
}

# root_test_end: the verdict of a test run by root_test_report: its dump
# and exit 1 when a check failed, else OK (with the time since T0).
root_test_end() {
    if [ "$FAILS" != 0 ]; then
        dump
        log "$FAILS check(s) failed ($((SECONDS - T0)) s)"
        exit 1
    fi
    log "OK ($((SECONDS - T0)) s)"
}

# dump_server: the end of the error log and of the journal of the server
# in C, for a test's dump.
dump_server() {
    echo "---- error_log (last 20 lines)"
    tail -20 "$C/logs/error_log" 2>/dev/null | cut -c1-300 || true
    echo "---- journal (last 12 lines)"
    tail -12 "$C/store/journal.jsonl" 2>/dev/null | cut -c1-300 || true
}

# need_package COMMAND PACKAGE: PACKAGE installed with apt-get when
# COMMAND is missing (a test that installs what it needs).
need_package() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    log "installing $pkg"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$pkg" </dev/null >>"$W/apt.log" 2>&1 ||
        { apt-get update >>"$W/apt.log" 2>&1 &&
            apt-get install -y --no-install-recommends "$pkg" </dev/null >>"$W/apt.log" 2>&1; } ||
        fail "$pkg cannot be installed (see $W/apt.log)"
}

# chromium_setup: headless chromium (installed when missing), run by
# browser ARGS... as the server's unprivileged User in a home of its own,
# W/home; its messages go to W/chromium.err.  PNG screenshots are read back
# with tests/prep_png.py (PREP_TESTS is on python's path for it).
chromium_setup() {
    need_package chromium chromium
    mkdir -p "$W/home"
    chown "$USER_NAME:$GROUP_NAME" "$W/home"
}
browser() {
    as_user env HOME="$W/home" XDG_CONFIG_HOME="$W/home/.config" XDG_CACHE_HOME="$W/home/.cache" \
        timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --no-first-run --no-default-browser-check --disable-extensions \
        --user-data-dir="$W/home/profile" "$@" 2>>"$W/chromium.err"
}

# start_server DIR PORT: configtest and start the httpd of DIR/httpd.conf,
# then wait (20 s at most) until it answers /prep-status on PORT.
start_server() {
    local c=$1 port=$2
    "$HTTPD" -t -f "$c/httpd.conf" >"$c/configtest.out" 2>&1 || fail "apache2 -t: $(tr '\n' ' ' <"$c/configtest.out")"
    "$HTTPD" -f "$c/httpd.conf" -k start || fail "httpd -k start"
    wait_until 20 curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/prep-status" ||
        fail "the server did not answer on port $port"
}

# A night of feed FEED served at BASE from directory C (accounts_setup's
# incoming and store), its packages made in PKG by GEN (genpackage.py):
# make_package NAME CORTE SEED, upload NAME (as the institute: NAME.part
# then a rename), publish NAME (upload, then wait 30 s at most until
# another corte is served; then PUBLISH_PAUSE seconds more, 0 by default),
# st EXPR (the feed's status, feed_status), served_id, journal_has EVENT.
st() { feed_status "$BASE" "$FEED" "$1"; }
served_id() { st '(f.get("corte") or {}).get("id")'; }
published_other_than() { local id; id=$(served_id); [ -n "$id" ] && [ "$id" != "$1" ]; }
journal_has() { grep -q "\"event\":\"$1\"" "$C/store/journal.jsonl" 2>/dev/null; }
upload() {
    as_uploader cp "$PKG/$1" "$C/incoming/.$1.part" || fail "the uploader cannot write INCOMING"
    as_uploader mv "$C/incoming/.$1.part" "$C/incoming/$1" || fail "the uploader cannot rename"
}
make_package() {
    python3 "$GEN" "$PKG/$1" --corte "$2" --files 200 --seed "$3" >/dev/null 2>&1 || fail "genpackage $1"
    chmod 644 "$PKG/$1"
}
publish() {
    local before
    before=$(served_id)
    upload "$1"
    wait_until 30 published_other_than "$before" || fail "$1 was not published within 30 s"
    sleep "${PUBLISH_PAUSE:-0}"
}
