#!/usr/bin/env bash
# tests/integrity.sh — the institute's SFTP account and the server's User
# attack the store, with the three real accounts of docs/operations.md:
#
#   the loader account (PrepUser, LOADER_NAME, default prep) owns the store;
#   the server's User (USER_NAME, default prepci) only reads it;
#   the uploader (UPLOADER_NAME, default prepup) writes PrepIncoming only.
#
# httpd is started as root, one server per case on 127.0.0.1, with
# `User USER_NAME` and `PrepUser LOADER_NAME`.  Every attack is run the way
# an attacker holding the uploader's (or the User's) account would run it:
# as that account (setpriv, no other groups), with symlinks, FIFOs, renames
# timed with inotify (tests/race.py) and plain writes.  Each case asserts
# the behaviour of the hardened loader:
#
#   1  links to the store: INCOMING/rejected and processed -> ../store, a
#      junk package named `current` (holding an older corte's id) and a bad
#      package: the served corte and STORE/current stay, also after a
#      graceful restart;
#   2  links to a corte: rejected/processed -> STORE/cortes/ID and a junk
#      file named content.pack: the pack, the bytes served and the ETag stay;
#   3  a .reason link: INCOMING/rejected/X.reason -> the corte's corte.json,
#      then a bad package X: corte.json stays, a restart still serves 200;
#   4  PrepVerify bypass (sha256, then an Ed25519 signature): a forged
#      package renamed over a good one when the loader opens it: the
#      forgery is never served;
#   5  a symlink renamed over a settled package, to a package the uploader
#      cannot read (the loader can): never published;
#   6  FIFOs and links for a package and its sidecar: the loader is never
#      blocked (a good package is published within seconds) and the status
#      says `loading` whenever a load runs long;
#   7  a sidecar symlinked to a secret of the loader's: the secret is in
#      neither the status nor any .reason file;
#   8  a newer package re-sent under the same name while the first loads:
#      the newer one is published;
#   9  a stalled upload under the final name (bursts 2.5 s apart,
#      PrepSettleTime 2), and a client retry from the start: published;
#  10  a file, and a directory, named `rejected` in INCOMING plus two
#      broken packages: no reload every second;
#  11  40 junk files, then a real corte: live within 5 s of settling;
#  12  20,000 names created and removed in INCOMING: the intake's memory
#      stays bounded;
#  13  the server's User writes the store (content.pack in place, current,
#      corte.json, state.json, renames): permission denied, nothing served
#      changes;
#  14  a corte two hours ahead (future-corte), then a genuine one
#      (published, ?check 200), then the same corte time with other bytes
#      (same-time).
#  15  configtest refuses a store (or its directory) the server's User can
#      write, and an unknown PrepUser.
#  16  the whole hostile corpus (tests/hostile-corpus) uploaded by the
#      uploader, as t/12_hostile.t does as one account: each package refused
#      with its reason into STORE/rejected, the corte unchanged, nothing
#      written outside the store, everything in it the loader account's.
#
# Before the hardening, `PrepUser` is an unknown directive: the script then
# says so, drops the line and runs the cases with the stores owned by the
# server's User and INCOMING shared with the uploader's group, as the
# operations guide said then ("mode before").  Prints a table of the cases;
# exits non-zero if any failed.  Needs root (skips otherwise).  About four
# minutes.
#
#   tests/integrity.sh [TOP] [CASE...]   TOP: the built tree; CASE: 1..14
#
# Environment: PREP_TEST_USER (prepci), PREP_TEST_LOADER (prep),
# PREP_TEST_UPLOADER (prepup), PREP_SO, PREP_TEST_KEEP=1 keeps the work
# directory.
set -uo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
shift || true
CASES=${*:-1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16}
GEN="$TOP/tests/genpackage.py"
RACE="$TOP/tests/race.py"
# The uploader and the User run the system Python (root's PATH may hold a
# pyenv of its own they cannot read).
PYSYS=$(PATH=/usr/bin:/bin command -v python3)
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup integrity || exit 0
T0=$SECONDS
PKG="$W/pkg"
mkdir -p "$PKG"

declare -A CASE_NAME=(
    [1]="links to the store: junk 'current'"
    [2]="links to a corte: junk content.pack"
    [3]="rejected/X.reason -> corte.json"
    [4]="PrepVerify bypass by a rename"
    [5]="symlink to an unreadable package"
    [6]="FIFOs and links do not block"
    [7]="sidecar link to a secret"
    [8]="re-sent while loading"
    [9]="stalled upload, client retry"
    [10]="no reload loop (rejected file/dir)"
    [11]="40 junk files, then a corte"
    [12]="seen-names table bounded"
    [13]="server User cannot write store"
    [14]="future-corte and same-time"
    [15]="configtest: store rights, PrepUser"
    [16]="hostile corpus, as the uploader"
)

# ---------------------------------------------------------------- mode
# The design says `PrepUser`; today's module does not know it.  A probe
# configuration decides which world this run is in.
accounts_setup "$W/probe"
mkdir -p "$W/probe/logs" "$W/probe/run"
write_server_conf "$W/probe" "$(free_port)" probe
MODE=after
if ! probe_out=$("$HTTPD" -t -f "$W/probe/httpd.conf" 2>&1); then
    if echo "$probe_out" | grep -q "PrepUser"; then
        MODE=before
    else
        echo "integrity: apache2 -t fails on the probe configuration:"
        echo "$probe_out"
        exit 1
    fi
fi
if [ "$MODE" = before ]; then
    LOADER_RUN=$USER_NAME
    echo "integrity: NOTE: apache2 -t rejects PrepUser ($(echo "$probe_out" | grep -m1 PrepUser))"
    echo "integrity: NOTE: mode before: the PrepUser line is dropped; the stores belong to the"
    echo "integrity:       server's User $USER_NAME, INCOMING to $USER_NAME:$(id -gn "$UPLOADER_NAME") 2775"
else
    LOADER_RUN=$LOADER_NAME
    echo "integrity: mode after: PrepUser $LOADER_NAME accepted"
fi
echo "integrity: accounts: loader $LOADER_RUN, server User $USER_NAME, uploader $UPLOADER_NAME"

# ---------------------------------------------------------------- per case
# Per case: N (its number), C (its directory), FEED, BASE (its URL).
N="" C="" FEED="" BASE=""
declare -a BG_PIDS=()

log() { echo "integrity[$N]: $*"; }

# bad MSG: a failed assertion; the case goes on (the other assertions are
# still worth knowing) and fails at its end.  fail MSG: fails it at once.
bad() {
    log "FAIL: $*"
    echo "$*" >>"$W/failures.$N"
}
dump() {
    echo "---- [$N] error_log (last 25 lines)"
    tail -25 "$C/logs/error_log" 2>/dev/null | cut -c1-300 || true
    echo "---- [$N] store and incoming"
    find "$C/store" "$C/incoming" -maxdepth 2 -printf '%u %m %y %s %p %l\n' 2>/dev/null |
        grep -v '/cortes/.*/' | head -30 || true
}
# finish MSG: the end of a case.
finish() {
    if [ -s "$W/failures.$N" ]; then
        dump
        exit 1
    fi
    log "OK ($*)"
}

# make_dirs DIR: DIR/incoming and DIR/store with the three accounts'
# ownership, or (mode before) the server User's as the old guide said.
make_dirs() {
    accounts_setup "$1"
    if [ "$MODE" = before ]; then
        chown "$USER_NAME:$(id -gn "$UPLOADER_NAME")" "$1/incoming"
        chmod 2775 "$1/incoming"
        chown "$USER_NAME:$GROUP_NAME" "$1/store"
        chmod 0755 "$1/store"
    fi
}

# new_case FEED: a fresh feed FEED with its own incoming, store, server.
new_case() {
    FEED=$1
    C="$W/c$N-$FEED"
    mkdir -p "$C/logs" "$C/run"
    make_dirs "$C"
    local port
    port=$(free_port)
    BASE="http://127.0.0.1:$port"
    write_server_conf "$C" "$port" "$FEED"
    [ "$MODE" = after ] || sed -i '/^PrepUser /d' "$C/httpd.conf"
}

# add_feed NAME: a second feed in the case's server (DIR C/NAME).
add_feed() {
    local name=$1 d="$C/$1"
    mkdir -p "$d"
    make_dirs "$d"
    cat >>"$C/httpd.conf" <<EOF
<PrepFeed $name>
    PrepIncoming   $d/incoming
    PrepStore      $d/store
    PrepSettleTime 1
    PrepCorteTime  json json/main.json /fechaCorte
</PrepFeed>
<Location /prep/$name>
    SetHandler prep
    PrepServe $name
</Location>
EOF
}

server_pid() { httpd_pid "$C"; }
intake_pid() { intake_pid_of "$C"; }
loader_pids() { loader_pids_of "$C"; }
# The age in seconds of the oldest loader running (empty: none).
loader_age() {
    local pid a max=""
    for pid in $(loader_pids); do
        a=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
        [ -n "$a" ] || continue
        if [ -z "$max" ] || [ "$a" -gt "$max" ]; then max=$a; fi
    done
    echo "$max"
}


start_server() {
    "$HTTPD" -t -f "$C/httpd.conf" >"$C/configtest.out" 2>&1 ||
        fail "apache2 -t: $(tr '\n' ' ' <"$C/configtest.out")"
    "$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start"
    wait_until 20 curl -s -o /dev/null --max-time 2 "$BASE/prep-status" ||
        fail "the server did not answer on $BASE"
    wait_until 5 has_intake || true
}
has_intake() { [ -n "$(intake_pid)" ]; }
has_corte() { [ -n "$(served_id)" ]; }
stop_server() {
    stop_httpd "$C"
    rm -f "$C/run/httpd.pid"
}
graceful() {
    local before
    before=$(intake_pid)
    "$HTTPD" -f "$C/httpd.conf" -k graceful || fail "httpd -k graceful"
    sleep 2
    wait_until 15 curl -s -o /dev/null --max-time 2 "$BASE/prep-status" ||
        fail "the server did not answer after the graceful restart"
    wait_until 10 has_intake || true
    log "graceful restart (intake $before -> $(intake_pid))"
}
case_cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    [ -z "$C" ] || stop_server
}

# ---------------------------------------------------------------- status, serving
# st EXPR [FEED]: a Python expression over `f`, the feed's status object
# (`d`: the whole document); prints it, or nothing.
st() { feed_status "$BASE" "${2:-$FEED}" "$1"; }
served_id() { st '(f.get("corte") or {}).get("id")'; }
problem() { st '(f.get("problem") or {}).get("message")'; }
rejected_reason() { st "next((r.get('reason') for r in f.get('rejected') or [] if r.get('package') == '$1'), None)"; }
rejected_list() { st '" | ".join("%s: %s" % (r.get("package"), r.get("reason")) for r in f.get("rejected") or [])'; }
is_refused() { [ -n "$(rejected_reason "$1")" ]; }
current() { tr -d '\n' <"$C/store/current" 2>/dev/null || true; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

# get PATH OUT: GET /prep/FEED/PATH into OUT, headers into OUT.h; prints
# the status code.
get() {
    curl -s --max-time 5 -o "$2" -D "$2.h" -w '%{http_code}' "$BASE/prep/$FEED/$1"
}
etag() { tr -d '\r' <"$1.h" | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p'; }
# serves NAME: json/main.json served is package NAME's, byte for byte.
serves() {
    [ "$(get json/main.json "$C/served.json")" = 200 ] && cmp -s "$C/served.json" "$PKG/$1.main.json"
}
serves_nothing() { [ -z "$(served_id)" ]; }
# marker_served NAME: the marker file of a forged package is served.
marker_served() { [ "$(get "$1.txt" "$C/marker.out")" = 200 ]; }

# ---------------------------------------------------------------- packages
# corte HH:MM: a corte time on election night.
corte() { echo "2024-06-02T$1:00-06:00"; }
# package NAME CORTE ARGS...: PKG/NAME.tar.gz (genpackage) and its
# json/main.json in PKG/NAME.main.json.
package() {
    local name=$1 t=$2
    shift 2
    python3 "$GEN" "$PKG/$name.tar.gz" --corte "$t" "$@" 2>/dev/null || {
        echo "integrity: genpackage $name failed"
        return 1
    }
    tar -xzf "$PKG/$name.tar.gz" -O prep_qro/json/main.json >"$PKG/$name.main.json"
}
# forged NAME CORTE ARGS...: a package with a file NAME.txt at its top
# that no genuine package has (the proof that it was served).
forged() {
    local name=$1 d
    package "$@" || return 1
    d=$(mktemp -d "$W/forge.XXXXXX")
    tar -xzf "$PKG/$name.tar.gz" -C "$d"
    echo "forged by the uploader: $name" >"$d/prep_qro/$name.txt"
    tar -czf "$PKG/$name.tar.gz" -C "$d" prep_qro
    rm -rf "$d"
}
# upload FILE NAME: what the institute's SFTP client does, as the
# uploader: NAME.part, then renamed to NAME.
upload() {
    as_uploader cp "$1" "$C/incoming/$2.part" || fail "the uploader cannot write INCOMING/$2.part"
    as_uploader mv "$C/incoming/$2.part" "$C/incoming/$2" || fail "the uploader cannot rename $2.part"
}
upload_pkg() { upload "$PKG/$1.tar.gz" "${2:-$1.tar.gz}"; }
# sidecar NAME FILE: the uploader writes INCOMING/FILE.sha256 for package NAME.
sidecar_sha256() {
    printf '%s  %s\n' "$(sha "$PKG/$1.tar.gz")" "$2" >"$W/sidecar.$N"
    as_uploader cp "$W/sidecar.$N" "$C/incoming/$2.sha256"
}
gone_from_incoming() {
    local f
    for f in "$@"; do
        [ -e "$C/incoming/$f" ] || [ -L "$C/incoming/$f" ] && return 1
    done
    return 0
}
# publish_first NAME: uploads package NAME and waits until it is served.
publish_first() {
    upload_pkg "$1"
    wait_until 30 serves "$1" || fail "package $1 was not published within 30 s (rejected: $(rejected_list))"
}

# race ARGS...: tests/race.py as the uploader, in the background; waits
# until its watch is in place.  RACE_OUT is its output.
race() {
    RACE_OUT="$C/race.out"
    : >"$RACE_OUT"
    chmod 666 "$RACE_OUT"
    as_uploader "$PYSYS" "$RACE" "$@" >"$RACE_OUT" 2>&1 &
    BG_PIDS+=($!)

    wait_until 10 grep -q ready "$RACE_OUT" || fail "race.py did not start: $(cat "$RACE_OUT")"
}
race_fired() { grep -q '^fired' "$RACE_OUT"; }

# ================================================================ the cases

# 1. The uploader links INCOMING/rejected and processed to the store, then
# uploads a junk "package" named `current` holding an older corte's id and
# a bad package: set aside through the links, they would replace
# STORE/current (a rollback at the next restart).
case_1() {
    new_case links
    start_server
    publish_first c1-A
    local a_id b_id cur d
    a_id=$(served_id)
    publish_first c1-B
    b_id=$(served_id)
    cur=$(current)
    log "serving $b_id (older: $a_id)"
    for d in rejected processed; do
        if [ -e "$C/incoming/$d" ] || [ -L "$C/incoming/$d" ]; then
            as_uploader mv "$C/incoming/$d" "$C/incoming/.$d-old" 2>/dev/null ||
                log "the uploader cannot move INCOMING/$d away"
        fi
        as_uploader ln -s ../store "$C/incoming/$d" 2>/dev/null ||
            log "the uploader cannot create INCOMING/$d -> ../store"
    done
    log "INCOMING: $(find "$C/incoming" -maxdepth 1 -type l -printf "%f -> %l  ")"
    printf '%s\n' "$a_id" >"$PKG/c1-current"
    head -c 60000 "$PKG/c1-B.tar.gz" >"$PKG/c1-bad.tar.gz"
    upload "$PKG/c1-current" current
    upload "$PKG/c1-bad.tar.gz" c1-bad.tar.gz
    wait_until 10 gone_from_incoming current c1-bad.tar.gz || true
    sleep 5
    [ "$(served_id)" = "$b_id" ] || bad "after 5 s the served corte is '$(served_id)', not $b_id"
    [ "$(current)" = "$cur" ] || bad "after 5 s STORE/current is '$(current)', not $cur"
    serves c1-B || bad "after 5 s json/main.json is not c1-B's"
    for d in current.reason c1-bad.tar.gz c1-bad.tar.gz.reason; do
        [ ! -e "$C/store/$d" ] || bad "the loader wrote STORE/$d through the link"
    done
    st 'json.dumps(f.get("incoming_ignored"))' >"$C/ignored.json"
    grep -q '"rejected"' "$C/ignored.json" ||
        bad "the status does not list INCOMING/rejected (a link) in incoming_ignored: $(cat "$C/ignored.json")"
    graceful
    wait_until 10 has_corte || true
    [ "$(served_id)" = "$b_id" ] || bad "after a graceful restart the served corte is '$(served_id)', not $b_id"
    [ "$(current)" = "$cur" ] || bad "after a graceful restart STORE/current is '$(current)', not $cur"
    serves c1-B || bad "after a graceful restart json/main.json is not c1-B's"
    finish "served $b_id throughout; STORE/current unchanged"
}

# 2. Links to the served corte's directory, and a junk file named
# content.pack: set aside through the link it would replace the pack.
case_2() {
    new_case packlink
    start_server
    publish_first c2-A
    local id pack d tag1 tag2
    id=$(served_id)
    pack=$(sha "$C/store/cortes/$id/content.pack")
    get json/main.json "$C/main1.json" >/dev/null
    tag1=$(etag "$C/main1.json")
    for d in rejected processed; do
        if [ -e "$C/incoming/$d" ] || [ -L "$C/incoming/$d" ]; then
            as_uploader mv "$C/incoming/$d" "$C/incoming/.$d-old" 2>/dev/null ||
                log "the uploader cannot move INCOMING/$d away"
        fi
        as_uploader ln -s "../store/cortes/$id" "$C/incoming/$d" 2>/dev/null ||
            log "the uploader cannot create INCOMING/$d -> ../store/cortes/$id"
    done
    head -c 300000 /dev/urandom >"$PKG/c2-content.pack"
    upload "$PKG/c2-content.pack" content.pack
    wait_until 10 gone_from_incoming content.pack || true
    sleep 3
    [ "$(sha "$C/store/cortes/$id/content.pack")" = "$pack" ] ||
        bad "STORE/cortes/$id/content.pack changed (sha256 $(sha "$C/store/cortes/$id/content.pack" | cut -c1-16)…)"
    [ ! -e "$C/store/cortes/$id/content.pack.reason" ] || bad "the loader wrote content.pack.reason into the corte"
    get json/main.json "$C/main2.json" >/dev/null
    tag2=$(etag "$C/main2.json")
    cmp -s "$C/main2.json" "$C/main1.json" || bad "the bytes of json/main.json served changed"
    [ "$tag1" = "$tag2" ] || bad "the ETag of json/main.json changed: $tag1 -> $tag2"
    [ "$(served_id)" = "$id" ] || bad "the served corte changed: $(served_id)"
    finish "content.pack, main.json and its ETag unchanged"
}

# 3. INCOMING/rejected is the uploader's own directory, with X.reason a
# link to the corte's corte.json; then a bad package X.
case_3() {
    new_case reasonlink
    start_server
    publish_first c3-A
    local id cj code
    id=$(served_id)
    cj=$(sha "$C/store/cortes/$id/corte.json")
    if [ -e "$C/incoming/rejected" ]; then
        as_uploader mv "$C/incoming/rejected" "$C/incoming/.rejected-old" ||
            log "the uploader cannot move INCOMING/rejected away"
    fi
    as_uploader mkdir -p "$C/incoming/rejected"
    as_uploader chmod 0777 "$C/incoming/rejected"
    as_uploader ln -s "../../store/cortes/$id/corte.json" "$C/incoming/rejected/c3-X.tar.gz.reason" ||
        fail "the uploader cannot create the .reason link"
    head -c 50000 "$PKG/c3-A.tar.gz" >"$PKG/c3-X.tar.gz"
    upload_pkg c3-X
    wait_until 10 gone_from_incoming c3-X.tar.gz || true
    sleep 2
    [ "$(sha "$C/store/cortes/$id/corte.json")" = "$cj" ] ||
        bad "corte.json changed: $(head -c 120 "$C/store/cortes/$id/corte.json")"
    stop_server
    start_server
    wait_until 10 serves c3-A || true
    code=$(get json/main.json "$C/main.json")
    [ "$code" = 200 ] || bad "after a restart json/main.json answers $code"
    serves c3-A || bad "after a restart json/main.json is not c3-A's"
    finish "corte.json unchanged; after a restart still 200"
}

# 4. PrepVerify bypass: the forged B (with a marker file) is renamed over
# the good, signed A at the moment the loader opens A.
verify_swap() {
    local mode=$1 verify=$2
    new_case "v$mode"
    if [ "$mode" = ed ]; then
        openssl genpkey -algorithm ed25519 -out "$C/ed.key.pem" 2>/dev/null || fail "openssl genpkey"
        openssl pkey -in "$C/ed.key.pem" -pubout -out "$C/ed.pub.pem" 2>/dev/null || fail "openssl pkey"
        verify="signature $C/ed.pub.pem"
    fi
    EXTRA_FEED_CONF="    PrepVerify $verify" write_server_conf "$C" "${BASE##*:}" "$FEED"
    [ "$MODE" = after ] || sed -i '/^PrepUser /d' "$C/httpd.conf"
    start_server
    local name=PREP_QRO_2105.tar.gz end
    if [ "$mode" = ed ]; then
        openssl pkeyutl -sign -rawin -inkey "$C/ed.key.pem" -in "$PKG/BIG.tar.gz" -out "$W/A.sig.$N" ||
            fail "openssl pkeyutl -sign"
        as_uploader cp "$W/A.sig.$N" "$C/incoming/$name.sig"
    else
        sidecar_sha256 BIG "$name"
    fi
    as_uploader cp "$PKG/c4-B.tar.gz" "$C/incoming/.forged.part"
    race "$C/incoming" "$name" --timeout 40 --rename "$C/incoming/.forged.part" "$C/incoming/$name"
    upload_pkg BIG "$name"
    end=$((SECONDS + 25))
    while [ "$SECONDS" -lt "$end" ]; do
        if marker_served c4-B; then
            bad "$mode: the forged package's c4-B.txt is served (corte $(served_id))"
            break
        fi
        if race_fired && gone_from_incoming "$name" && [ -z "$(loader_pids)" ]; then
            sleep 1
            break
        fi
        sleep 0.3
    done
    log "$mode: race: $(tr '\n' ' ' <"$RACE_OUT")"
    race_fired || bad "$mode: the loader never opened $name (race.py did not fire)"
    marker_served c4-B && bad "$mode: the forged package's c4-B.txt is served at the end"
    if serves_nothing; then
        log "$mode: nothing served (A not published)"
    elif serves BIG; then
        log "$mode: A served"
    else
        bad "$mode: the corte served ($(served_id)) is neither A's nor none"
    fi
    stop_server
}
case_4() {
    verify_swap sha256 sha256
    verify_swap ed ""
    finish "the forgery was never served (sha256 and Ed25519)"
}

# 5. A symlink renamed over a settled package, the moment the loader starts
# (it opens STORE/loader.lock, or the package), to a newer package that the
# loader account can read and the uploader cannot.
case_5() {
    new_case unreadable
    start_server
    publish_first c5-A
    local secret="$W/loader-only" end
    mkdir -p "$secret"
    cp "$PKG/c5-S.tar.gz" "$secret/PREP.tar.gz"
    chown -R "$LOADER_RUN" "$secret"
    chmod 0700 "$secret"
    chmod 0600 "$secret/PREP.tar.gz"
    if as_uploader cat "$secret/PREP.tar.gz" >/dev/null 2>&1; then
        fail "setup: the uploader can read $secret/PREP.tar.gz"
    fi
    as_uploader ln -s "$secret/PREP.tar.gz" "$C/incoming/.lnk.part" || fail "the uploader cannot make a link"
    race "$C/incoming" c5-X.tar.gz --also "$C/store" loader.lock --timeout 30 \
        --rename "$C/incoming/.lnk.part" "$C/incoming/c5-X.tar.gz"
    upload_pkg c5-X
    end=$((SECONDS + 15))
    while [ "$SECONDS" -lt "$end" ]; do
        if marker_served c5-S; then
            bad "the package behind the link is served (corte $(served_id))"
            break
        fi
        if race_fired && [ -z "$(loader_pids)" ] && [ "$SECONDS" -gt $((end - 10)) ]; then
            break
        fi
        sleep 0.3
    done
    log "race: $(tr '\n' ' ' <"$RACE_OUT")"
    race_fired || bad "the loader never started on c5-X (race.py did not fire)"
    marker_served c5-S && bad "the package behind the link is served at the end"
    serves c5-A || serves c5-X || bad "the corte served ($(served_id)) is neither A's nor X's"
    finish "the unreadable package behind the link was never published"
}

# 6. A FIFO renamed over a package while it is verified, a FIFO as a
# sidecar, a sidecar linked to a FIFO elsewhere; then a good package.
case_6() {
    new_case fifo
    EXTRA_FEED_CONF="    PrepVerify sha256" write_server_conf "$C" "${BASE##*:}" "$FEED"
    [ "$MODE" = after ] || sed -i '/^PrepUser /d' "$C/httpd.conf"
    start_server
    local fifo_dir="$W/uploader-tmp" t0 age loading seen_key=0 published=0 stuck_seen=0
    mkdir -p "$fifo_dir"
    chown "$UPLOADER_NAME" "$fifo_dir"
    # X1: its sidecar is good; a FIFO replaces it when the loader opens it
    sidecar_sha256 BIG X1.tar.gz
    as_uploader mkfifo "$C/incoming/.fifo.part"
    race "$C/incoming" X1.tar.gz --timeout 30 --rename "$C/incoming/.fifo.part" "$C/incoming/X1.tar.gz"
    upload_pkg BIG X1.tar.gz
    wait_until 15 race_fired || true
    log "race: $(tr '\n' ' ' <"$RACE_OUT")"
    # X2: a FIFO for a sidecar; X3: a sidecar linked to a FIFO elsewhere
    as_uploader mkfifo "$C/incoming/X2.tar.gz.sha256"
    upload_pkg c6-X2 X2.tar.gz
    as_uploader mkfifo "$fifo_dir/fifo"
    as_uploader ln -s "$fifo_dir/fifo" "$C/incoming/X3.tar.gz.sha256"
    upload_pkg c6-X3 X3.tar.gz
    sleep 1
    sidecar_sha256 c6-G G.tar.gz
    upload_pkg c6-G G.tar.gz
    t0=$SECONDS
    # Until G is served (at most 20 s): whenever a load has run for more
    # than 4 s, the status must say so (`loading`) or show a problem.
    while [ $((SECONDS - t0)) -lt 20 ]; do
        if serves c6-G; then
            published=$((SECONDS - t0))
            break
        fi
        age=$(loader_age)
        st '"loading" in f' | grep -q True && seen_key=1
        if [ -n "$age" ] && [ "$age" -gt 4 ]; then
            stuck_seen=1
            loading=$(st 'f.get("loading")')
            if [ -z "$loading" ] && [ -z "$(problem)" ]; then
                bad "a load has run for ${age}s and the status says $(st 'f.get("state")') with no problem and loading null"
                break
            fi
        fi
        sleep 0.5
    done
    if [ "$published" = 0 ] && ! serves c6-G; then
        bad "the good package G was not published within 20 s (a loader running for $(loader_age)s; rejected: $(rejected_list))"
    else
        log "G published $((published))s after its upload"
        [ "$published" -le 10 ] || bad "G was published only after ${published}s"
    fi
    [ "$seen_key" = 1 ] || bad "the feed's status has no 'loading' member"
    log "stuck loader seen: $stuck_seen; rejected: $(rejected_list)"
    finish "the loader was never blocked; G published in ${published}s"
}

# 7. The sidecar is a link to a secret that the loader account can read
# and the uploader cannot: a 64-hex-digit key (what a hex sidecar parser
# quotes back) followed by SECRET-4242.
case_7() {
    new_case secret
    EXTRA_FEED_CONF="    PrepVerify sha256" write_server_conf "$C" "${BASE##*:}" "$FEED"
    [ "$MODE" = after ] || sed -i '/^PrepUser /d' "$C/httpd.conf"
    start_server
    local secret="$W/loader-secret" key hits
    key=$(printf 'SECRET-4242' | sha256sum | cut -d' ' -f1)
    mkdir -p "$secret"
    printf '%s SECRET-4242\n' "$key" >"$secret/api.key"
    chown -R "$LOADER_RUN" "$secret"
    chmod 0700 "$secret"
    chmod 0600 "$secret/api.key"
    if as_uploader cat "$secret/api.key" >/dev/null 2>&1; then
        fail "setup: the uploader can read the secret"
    fi
    as_uploader ln -s "$secret/api.key" "$C/incoming/c7-X.tar.gz.sha256" || fail "the uploader cannot make a link"
    upload_pkg c7-X
    wait_until 20 is_refused c7-X.tar.gz || log "c7-X not refused within 20 s (the loader may wait for a real sidecar)"
    log "rejected: $(rejected_list)"
    curl -s --max-time 5 "$BASE/prep-status" >"$C/status.json"
    curl -s --max-time 5 "$BASE/prep-status?format=prometheus" >>"$C/status.json"
    grep -q "SECRET-4242" "$C/status.json" && bad "SECRET-4242 appears in /prep-status"
    grep -q "$key" "$C/status.json" && bad "the secret key ($(echo "$key" | cut -c1-12)…) appears in /prep-status"
    hits=$(find "$C" -name '*.reason' -type f -exec grep -l -e SECRET-4242 -e "$key" {} + 2>/dev/null | tr '\n' ' ')
    [ -z "$hits" ] || bad "the secret appears in .reason files: $hits"
    finish "the secret is in neither the status nor a .reason file"
}

# 8. The same name re-sent with a newer package while the first one loads.
case_8() {
    new_case resend
    start_server
    local name=PREP_QRO.tar.gz
    race "$C/incoming" "$name" --timeout 30 \
        --exec "cp '$PKG/c8-N2.tar.gz' '$C/incoming/$name.part' && mv '$C/incoming/$name.part' '$C/incoming/$name'"
    upload_pkg BIG "$name"
    wait_until 15 race_fired || bad "the loader never opened $name"
    log "race: $(tr '\n' ' ' <"$RACE_OUT")"
    if wait_until 20 serves c8-N2; then
        log "the newer package is served"
    else
        bad "the newer package re-sent as $name was not published within 20 s (served: $(served_id); processed: $(ls "$C/incoming/processed" "$C/store/processed" 2>/dev/null | tr '\n' ' '))"
    fi
    finish "the re-sent package was published"
}

# 9. Written under its final name in bursts 2.5 s apart (PrepSettleTime 2),
# then a client retry that truncates and writes again from the start.
case_9() {
    new_case stall
    sed -i 's/PrepSettleTime 1$/PrepSettleTime 2/' "$C/httpd.conf"
    start_server
    as_uploader "$PYSYS" - "$PKG/c9-P.tar.gz" "$C/incoming/c9-P.tar.gz" <<'EOF'
import os, sys, time
data = open(sys.argv[1], "rb").read()
n = len(data)
with open(sys.argv[2], "wb") as out:
    for i in range(3):
        out.write(data[i * n // 3:(i + 1) * n // 3])
        out.flush()
        os.fsync(out.fileno())
        if i < 2:
            time.sleep(2.5)
EOF
    if wait_until 12 serves c9-P; then
        log "the stalled upload was published"
    else
        bad "the stalled upload was not published within 12 s (rejected: $(rejected_list))"
    fi
    [ "$(rejected_reason c9-P.tar.gz)" != truncated ] || bad "the stalled upload was refused as truncated"
    as_uploader "$PYSYS" - "$PKG/c9-Q.tar.gz" "$C/incoming/c9-Q.tar.gz" <<'EOF'
import os, sys, time
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    out.write(data[:len(data) // 3])
    out.flush()
time.sleep(2.5)
# the client retries: the file opened again with O_TRUNC, all written
with open(sys.argv[2], "wb") as out:
    out.write(data)
EOF
    if wait_until 12 serves c9-Q; then
        log "the retried upload was published"
    else
        bad "the retried upload was not published within 12 s (rejected: $(rejected_list))"
    fi
    finish "stalled and retried uploads published"
}

# 10. A regular file named `rejected` in INCOMING (feed 1) and a directory
# `rejected` the loader cannot write (feed 2), two broken packages each.
case_10() {
    new_case loopf
    add_feed loopd
    start_server
    local nf nd
    as_uploader sh -c "echo not a directory >'$C/incoming/rejected'"
    as_uploader mkdir "$C/loopd/incoming/rejected"
    as_uploader chmod 0755 "$C/loopd/incoming/rejected"
    head -c 40000 "$PKG/c10-A.tar.gz" >"$W/c10-bad1"
    head -c 90000 "$PKG/c10-A.tar.gz" >"$W/c10-bad2"
    upload "$W/c10-bad1" bad1.tar.gz
    upload "$W/c10-bad2" bad2.tar.gz
    as_uploader cp "$W/c10-bad1" "$C/loopd/incoming/bad1.tar.gz"
    as_uploader cp "$W/c10-bad2" "$C/loopd/incoming/bad2.tar.gz"
    sleep 15
    nf=$(grep -c "feed loopf: loading package" "$C/logs/error_log")
    nd=$(grep -c "feed loopd: loading package" "$C/logs/error_log")
    log "in 15 s: $nf loads with a file named rejected, $nd with a directory named rejected"
    [ "$nf" -le 4 ] || bad "$nf loads in 15 s with a file named INCOMING/rejected (two broken packages)"
    [ "$nd" -le 4 ] || bad "$nd loads in 15 s with an unwritable directory INCOMING/rejected"
    finish "$nf and $nd loads in 15 s"
}

# 11. 40 junk files, then a real corte.
case_11() {
    new_case junk
    start_server
    publish_first c11-A
    local t_up t_ok=""
    # shellcheck disable=SC2016
    as_uploader sh -c '
        for i in $(seq -w 1 40); do
            head -c 20000 /dev/urandom >"$1/junk-$i.tar.gz.part"
            mv "$1/junk-$i.tar.gz.part" "$1/junk-$i.tar.gz"
        done' _ "$C/incoming"
    # each still waiting, or already refused (a rename is read at once)
    [ "$(find "$C/incoming" "$C/store/rejected" -maxdepth 1 -name 'junk-*.tar.gz' | wc -l)" = 40 ] ||
        fail "the 40 junk files are neither in INCOMING nor in STORE/rejected"
    upload_pkg c11-R
    t_up=$SECONDS
    # settled: one PrepSettleTime after the rename
    while [ $((SECONDS - t_up)) -lt 25 ]; do
        if serves c11-R; then
            t_ok=$((SECONDS - t_up))
            break
        fi
        sleep 0.2
    done
    if [ -z "$t_ok" ]; then
        bad "the new corte was not live 25 s after its upload (junk left: $(find "$C/incoming" -maxdepth 1 -name "junk-*" | wc -l))"
    else
        log "the new corte was live ${t_ok}s after its upload (settle time 1 s)"
        [ "$t_ok" -le 6 ] || bad "the new corte was live only ${t_ok}s after its upload (more than 5 s after settling)"
    fi
    finish "live ${t_ok}s after the upload"
}

# 12. 20,000 long names created and removed over about 20 s.  Their mtime
# is an hour ahead (an SFTP client may set any): they never settle, so
# none is loaded, but each is seen.
case_12() {
    new_case names
    start_server
    local pid rss0 rss1 loads
    pid=$(intake_pid)
    [ -n "$pid" ] || fail "no intake process"
    sleep 2
    rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    as_uploader "$PYSYS" - "$C/incoming" <<'EOF'
import os, sys, time
d = sys.argv[1]
prev = []
pad = "n" * 240
for batch in range(40):
    t = time.monotonic()
    names = ["%s-%05d.tar.gz" % (pad, batch * 500 + i) for i in range(500)]
    ahead = time.time() + 3600
    for n in names:
        path = os.path.join(d, n)
        open(path, "wb").close()
        os.utime(path, (ahead, ahead))
    for n in prev:
        try:
            os.unlink(os.path.join(d, n))
        except FileNotFoundError:
            pass
    prev = names
    time.sleep(max(0, 0.5 - (time.monotonic() - t)))
for n in prev:
    try:
        os.unlink(os.path.join(d, n))
    except FileNotFoundError:
        pass
EOF
    sleep 2
    [ "$(intake_pid)" = "$pid" ] || bad "the intake changed (was $pid, now $(intake_pid))"
    rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    loads=$(grep -c "loading package" "$C/logs/error_log")
    log "intake VmRSS ${rss0} kB -> ${rss1} kB ($((rss1 - rss0)) kB); $loads loads started"
    [ $((rss1 - rss0)) -lt 3072 ] || bad "the intake grew by $((rss1 - rss0)) kB for 20,000 names created and removed"
    finish "grew by $((rss1 - rss0)) kB"
}

# 13. The server's User tries to change the store.
case_13() {
    new_case readonly
    start_server
    publish_first c13-A
    local id dir tag1 tag2 out what
    id=$(served_id)
    dir="$C/store/cortes/$id"
    get json/main.json "$C/main1.json" >/dev/null
    tag1=$(etag "$C/main1.json")
    # everything in the store is the loader account's, the uploaded package
    # kept in processed/ included (a copy, not the uploader's inode)
    [ -e "$C/store/processed/c13-A.tar.gz" ] || bad "the package is not in STORE/processed"
    out=$(find "$C/store" ! -user "$LOADER_RUN" -printf '%u %p\n' | head -5)
    [ -z "$out" ] || bad "not the loader account's in the store: $out"
    # try WHAT COMMAND...: the attempt must fail with EACCES
    try() {
        what=$1
        shift
        if out=$(as_user "$@" 2>&1); then
            bad "the server's User could $what"
        elif ! echo "$out" | grep -qi "permission denied"; then
            bad "the server's User could not $what, but not for want of permission: $out"
        else
            log "the server's User cannot $what: permission denied"
        fi
    }
    try "deface json/main.json inside content.pack" "$PYSYS" - "$dir/content.pack" "$PKG/c13-A.main.json" <<'EOF'
import sys
pack, ref = sys.argv[1], open(sys.argv[2], "rb").read()
with open(pack, "r+b") as f:
    data = f.read()
    at = data.find(ref)
    if at < 0:
        at = 0
    f.seek(at)
    f.write(b"X" * min(len(ref), 64))
EOF
    try "replace STORE/current" sh -c "echo 20200101T000000Z-00000000 >'$C/store/current'"
    try "write corte.json" sh -c "echo '{}' >'$dir/corte.json'"
    try "write state.json" sh -c "echo '{}' >'$C/store/state.json'"
    try "rename STORE/current" mv "$C/store/current" "$C/store/current.old"
    try "rename index.prep inside the corte" mv "$dir/index.prep" "$dir/index.old"
    try "create a file in STORE/cortes" sh -c ": >'$C/store/cortes/planted'"
    get json/main.json "$C/main2.json" >/dev/null
    tag2=$(etag "$C/main2.json")
    cmp -s "$C/main1.json" "$C/main2.json" || bad "the bytes of json/main.json served changed"
    [ "$tag1" = "$tag2" ] || bad "the ETag changed: $tag1 -> $tag2"
    finish "every write refused; bytes and ETag unchanged"
}

# 14. A corte two hours ahead, a genuine one, the same corte time again.
handled() { is_refused "$1.tar.gz" || serves "$1"; }
case_14() {
    new_case future
    start_server
    local now_iso fut_iso code
    fut_iso=$(python3 -c 'import datetime as d; z = d.timezone(d.timedelta(hours=-6)); print((d.datetime.now(z) + d.timedelta(hours=2)).replace(microsecond=0).isoformat())')
    now_iso=$(python3 -c 'import datetime as d; z = d.timezone(d.timedelta(hours=-6)); print((d.datetime.now(z) - d.timedelta(minutes=1)).replace(microsecond=0).isoformat())')
    package c14-F "$fut_iso" --files 60 --seed 141 || fail "genpackage"
    package c14-G "$now_iso" --files 60 --seed 142 || fail "genpackage"
    package c14-S "$now_iso" --files 60 --seed 143 || fail "genpackage"
    upload_pkg c14-F
    if wait_until 10 handled c14-F && is_refused c14-F.tar.gz; then
        [ "$(rejected_reason c14-F.tar.gz)" = future-corte ] ||
            bad "the corte two hours ahead was refused as $(rejected_reason c14-F.tar.gz), not future-corte"
    else
        bad "the corte two hours ahead ($fut_iso) was not refused (served: $(served_id))"
    fi
    serves c14-F && bad "the corte two hours ahead is served"
    upload_pkg c14-G
    if wait_until 10 serves c14-G; then
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/prep-status?check=$FEED")
        [ "$code" = 200 ] || bad "?check=$FEED answers $code with the genuine corte served"
    else
        bad "the genuine corte ($now_iso) was not published (rejected: $(rejected_list))"
    fi
    upload_pkg c14-S
    if wait_until 10 handled c14-S && is_refused c14-S.tar.gz; then
        [ "$(rejected_reason c14-S.tar.gz)" = same-time ] ||
            bad "the same corte time with other bytes was refused as $(rejected_reason c14-S.tar.gz), not same-time"
    else
        bad "the same corte time with other bytes was not refused (served: $(served_id))"
    fi
    serves c14-S && bad "the package with the same corte time and other bytes is served"
    finish "future-corte refused, genuine published, same-time refused"
}

# ---------------------------------------------------------------- packages, run
cleanup() {
    local d
    for d in "$W"/c*/; do
        [ -e "$d/httpd.conf" ] || continue
        C=${d%/}
        stop_server
    done
    if [ "${PREP_TEST_KEEP:-0}" = 1 ]; then
        echo "integrity: kept $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "integrity: making the packages"
{
    echo "package BIG $(corte 21:05) --files 60 --size-mb 12 --seed 40"
    echo "package c1-A $(corte 21:05) --files 60 --seed 11"
    echo "package c1-B $(corte 21:10) --files 60 --seed 12"
    echo "package c2-A $(corte 21:05) --files 60 --seed 21"
    echo "package c3-A $(corte 21:05) --files 60 --seed 31"
    echo "forged c4-B $(corte 21:30) --files 60 --seed 42"
    echo "package c5-A $(corte 21:05) --files 60 --seed 51"
    echo "package c5-X $(corte 21:10) --files 60 --seed 52"
    echo "forged c5-S $(corte 21:20) --files 60 --seed 53"
    echo "package c6-X2 $(corte 21:06) --files 60 --seed 62"
    echo "package c6-X3 $(corte 21:07) --files 60 --seed 63"
    echo "package c6-G $(corte 21:30) --files 60 --seed 64"
    echo "package c7-X $(corte 21:05) --files 60 --seed 71"
    echo "package c8-N2 $(corte 21:10) --files 60 --seed 82"
    echo "package c9-P $(corte 21:05) --files 60 --size-mb 1 --seed 91"
    echo "package c9-Q $(corte 21:10) --files 60 --size-mb 1 --seed 92"
    echo "package c10-A $(corte 21:05) --files 60 --seed 101"
    echo "package c11-A $(corte 21:05) --files 60 --seed 111"
    echo "package c11-R $(corte 21:10) --files 60 --seed 112"
    echo "package c13-A $(corte 21:05) --files 60 --seed 131"
} >"$W/packages.txt"
export -f package forged
export GEN PKG W
xargs -P 2 -L 1 bash -c '"$@"' _ <"$W/packages.txt" || { echo "integrity: making the packages failed"; exit 1; }
echo "integrity: packages made ($((SECONDS - T0))s)"

# 15: configtest refuses what would give the results away: a store the
# server's User can write (or whose directory it can write), and a PrepUser
# that does not exist.
case_15() {
    new_case conf
    "$HTTPD" -t -f "$C/httpd.conf" >"$C/t.out" 2>&1 ||
        bad "configtest fails on the three accounts' layout: $(tail -1 "$C/t.out")"
    chmod 0775 "$C/store"
    chgrp "$GROUP_NAME" "$C/store"
    if "$HTTPD" -t -f "$C/httpd.conf" >"$C/t.out" 2>&1; then
        bad "configtest accepts a store the server's User can write"
    else
        grep -q "PrepStore $C/store is writable by the server's User $USER_NAME" "$C/t.out" ||
            bad "configtest fails, but does not say the store is writable by $USER_NAME: $(tail -1 "$C/t.out")"
    fi
    chmod 0755 "$C/store"
    chgrp "$(id -gn "$LOADER_NAME")" "$C/store"
    chgrp "$GROUP_NAME" "$C"
    chmod 0775 "$C"
    if "$HTTPD" -t -f "$C/httpd.conf" >"$C/t.out" 2>&1; then
        bad "configtest accepts a store whose directory the server's User can write"
    else
        grep -q "holds PrepStore is writable by the server's User" "$C/t.out" ||
            bad "configtest fails, but not about the store's directory: $(tail -1 "$C/t.out")"
    fi
    chmod 0755 "$C"
    sed -i "s/^PrepUser .*/PrepUser prep-no-such-account/" "$C/httpd.conf"
    if "$HTTPD" -t -f "$C/httpd.conf" >"$C/t.out" 2>&1; then
        bad "configtest accepts an unknown PrepUser"
    else
        grep -q 'PrepUser: no account "prep-no-such-account"' "$C/t.out" ||
            bad "configtest fails, but not naming the unknown PrepUser: $(tail -1 "$C/t.out")"
    fi
    finish "store writable by the User, its directory writable, unknown PrepUser: each refused"
}


# 16: the hostile corpus, each package uploaded by the uploader account into
# a server of the three accounts.
case_16() {
    local corpus name want got id served0 left n=0 out
    EXTRA_FEED_CONF="    PrepLimits     files=2000 bytes=64M file=16M depth=12"
    new_case hostile
    unset EXTRA_FEED_CONF
    start_server
    package c16-A 2024-06-02T21:00:00-06:00 --files 60 --seed 161 || fail "genpackage"
    publish_first c16-A
    id=$(served_id)
    served0=$(sha "$C/store/cortes/$id/content.pack")
    corpus="$C/corpus"
    mkdir -p "$C/target"
    python3 "$TOP/tests/hostile-corpus" "$corpus" --served 2024-06-02T21:00:00-06:00 \
        --corte 2024-06-02T22:00:00-06:00 --link-target "$C/target" \
        --files 2000 --bytes 64M --file 16M --depth 12 >"$C/corpus.out" 2>&1 ||
        fail "tests/hostile-corpus: $(tail -1 "$C/corpus.out")"
    chmod -R a+rX "$corpus"
    while IFS=$'\t' read -r name want _; do
        [ -n "$name" ] || continue
        upload "$corpus/$name" "$name"
        n=$((n + 1))
    done <"$corpus/MANIFEST"
    all_refused() {
        local name
        while IFS=$'\t' read -r name _; do
            [ -z "$name" ] || [ -e "$C/store/rejected/$name.reason" ] || return 1
        done <"$corpus/MANIFEST"
    }
    wait_until 120 all_refused || bad "not every package was refused within 120 s"
    while IFS=$'\t' read -r name want _; do
        [ -n "$name" ] || continue
        got=$(cut -d: -f1 "$C/store/rejected/$name.reason" 2>/dev/null)
        [ "$got" = "$want" ] || bad "$name: refused as '${got:-nothing}', not $want"
    done <"$corpus/MANIFEST"
    [ "$(served_id)" = "$id" ] || bad "the served corte changed to $(served_id)"
    [ "$(sha "$C/store/cortes/$id/content.pack")" = "$served0" ] || bad "the served pack changed"
    serves c16-A || bad "c16-A's bytes are no longer served"
    left=$(find "$W" -name 'prep-hostil-evil*' 2>/dev/null | head -3)
    [ -z "$left" ] || bad "an attack wrote outside the package: $left"
    out=$(find "$C/store" ! -user "$LOADER_RUN" -printf '%u %p\n' | head -3)
    [ -z "$out" ] || bad "not the loader account's in the store: $out"
    left=$(find "$C/incoming" -mindepth 1 -maxdepth 1 | head -3)
    [ -z "$left" ] || bad "left in incoming: $left"
    finish "$n packages uploaded by $UPLOADER_NAME, each refused with its reason; corte and pack unchanged"
}


declare -a ROWS=()
FAILED=0
for N in $CASES; do
    [ -n "${CASE_NAME[$N]:-}" ] || { echo "integrity: no case $N"; exit 2; }
    echo
    echo "==== integrity case $N: ${CASE_NAME[$N]}"
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
    else
        FAILED=1
        why=$(head -1 "$W/failures.$N" 2>/dev/null | cut -c1-110)
        ROWS+=("$(printf '%3s  %-36s FAIL %4ss  %s' "$N" "${CASE_NAME[$N]}" "$secs" "${why:-exit $rc}")")
    fi
done
echo
echo "==== integrity (mode $MODE, $((SECONDS - T0))s)"
printf '%s\n' "${ROWS[@]}"
exit "$FAILED"
