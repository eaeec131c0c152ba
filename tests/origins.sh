#!/usr/bin/env bash
# tests/origins.sh — two mod_prep origins in step behind HAProxy
# (docs/scaling.md): two httpd started as root with `User USER_NAME`
# (tests/root-test.sh), each with its own store, incoming and port; the
# institute uploads to origin A only; A's PrepNotify runs
# contrib/prep-replicate-rsync, which copies each package A published into
# B's PrepIncoming; HAProxy runs conf/haproxy/prep.cfg as shipped.
#
#   1  both origins waiting (empty stores): both out of HAProxy; the first
#      package uploaded to A (with its sha256 sidecar: PrepVerify sha256 on
#      both) is published by A and by B with the same corte id (the one
#      its time and SHA-256 give), B having verified it with the sidecar
#      copied along, and both come in; a package A refuses (a wrong
#      sidecar) never reaches B;
#   2  clients through HAProxy (several, in parallel, each keeping the
#      corte ids it saw) while (a) A is killed (SIGKILL: the server, its
#      intake, its loader) during a load, (b) A is killed right when it
#      publishes (STORE/current changed), (c) B is killed right when it
#      publishes, (d) B is killed during a load, (e) B comes back behind
#      (the package it missed taken away): it stays out until it loaded a
#      newer corte; every killed origin is started again and both end on
#      the same corte id each time.  No client request fails (a status
#      other than 200, a connection error, no X-PREP-Corte-Id) and no
#      client sees an older corte id after a newer one;
#   3  B stale (a graceful restart with PrepUpdateInterval 2s): out of
#      HAProxy; a new package makes it fresh and it comes back by itself.
#
# Prints a table of the steps; exits non-zero if any failed.  Needs root
# (skips otherwise), haproxy and rsync.  About a minute and a half.
#
#   tests/origins.sh [TOP]
#
# Environment: PREP_TEST_USER (prepci), PREP_SO, HAPROXY (haproxy),
# PREP_ORIGINS_HAPROXY_CFG (conf/haproxy/prep.cfg: another configuration
# to try against the same faults),
# PREP_TEST_KEEP=1 keeps the work directory (a failed run keeps it anyway).
set -uo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
GEN="$TOP/tests/genpackage.py"
REPLICATE="$TOP/contrib/prep-replicate-rsync"
HAPROXY=${HAPROXY:-haproxy}
HAPROXY_CFG=${PREP_ORIGINS_HAPROXY_CFG:-$TOP/conf/haproxy/prep.cfg}
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
WAIT_STEP=0.1
root_test_setup origins || exit 0
command -v "$HAPROXY" >/dev/null || { echo "origins: $HAPROXY not installed"; exit 1; }
command -v rsync >/dev/null || { echo "origins: rsync not installed"; exit 1; }
T0=$SECONDS
FEED=qro
PKG="$W/pkg"
mkdir -p "$PKG"
chmod 755 "$PKG"

declare -a ROWS=() BG=()
FAILED=0
STEP="" STEP_T=0 STEP_FAILS=0

log() { echo "origins[$STEP]: $*"; }
bad() {
    log "FAIL: $*"
    echo "$STEP: $*" >>"$W/failures"
    STEP_FAILS=$((STEP_FAILS + 1))
}
dump() {
    local o
    for o in a b; do
        echo "---- origin $o: error_log (last 15 lines)"
        tail -15 "$W/$o/logs/error_log" 2>/dev/null | cut -c1-300 || true
        echo "---- origin $o: journal (last 8 lines)"
        tail -8 "$W/$o/store/journal.jsonl" 2>/dev/null | cut -c1-300 || true
        echo "---- origin $o: incoming"
        find "$W/$o/incoming" -mindepth 1 -printf '%s %f\n' 2>/dev/null || true
    done
    echo "---- haproxy servers"
    hap "show servers state origins" 2>/dev/null || true
}
step() {
    end_step
    STEP=$1
    STEP_T=$SECONDS
    STEP_FAILS=0
    printf '%s %s\n' "$(date +%s.%N)" "$STEP" >>"$W/steps"
    echo
    echo "==== origins step $STEP"
}
end_step() {
    [ -n "$STEP" ] || return 0
    local secs=$((SECONDS - STEP_T)) why
    if [ "$STEP_FAILS" = 0 ]; then
        ROWS+=("$(printf '%-46s PASS %4ss' "$STEP" "$secs")")
    else
        FAILED=1
        why=$(grep -F "$STEP: " "$W/failures" | head -1 | cut -c$((${#STEP} + 3))- | cut -c1-100)
        ROWS+=("$(printf '%-46s FAIL %4ss  %s' "$STEP" "$secs" "$why")")
    fi
    STEP=""
}
# fail: a step that cannot go on; the rest is not run.
cleanup() {
    local p
    touch "$W/stop"
    for p in "${BG[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${BG[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    stop_httpd "$W/a"
    stop_httpd "$W/b"
    if [ -s "$W/haproxy.pid" ]; then
        kill "$(cat "$W/haproxy.pid")" 2>/dev/null || true
    fi
    end_step
    echo
    echo "==== origins ($((SECONDS - T0))s)"
    [ ${#ROWS[@]} = 0 ] || printf '%s\n' "${ROWS[@]}"
    if [ "$FAILED" = 0 ] && [ "${PREP_TEST_KEEP:-0}" != 1 ]; then
        rm -rf "$W"
    else
        echo "origins: the work directory is kept: $W"
    fi
}
on_exit() {
    local rc=$?
    [ "$rc" = 0 ] || FAILED=1
    cleanup
    exit "$FAILED"
}
trap on_exit EXIT


# ---------------------------------------------------------------- origins
# origin_setup O: W/O with its incoming and store (the server's User's: no
# PrepUser here, the loader is the User), its httpd.conf on a port of its
# own; PORT_O set.
declare -A PORT=()
origin_setup() {
    local o=$1 C="$W/$1"
    mkdir -p "$C/incoming" "$C/store" "$C/logs" "$C/run"
    chmod 755 "$C" "$C/run"
    chown "$USER_NAME:$GROUP_NAME" "$C/incoming" "$C/store"
    PORT[$o]=$(free_port)
    write_server_conf "$C" "${PORT[$o]}" "$FEED"
}
base() { echo "http://127.0.0.1:${PORT[$1]}"; }
start_origin() {
    local C="$W/$1"
    rm -f "$C/run/httpd.pid"
    "$HTTPD" -t -f "$C/httpd.conf" >"$C/configtest.out" 2>&1 ||
        fail "origin $1: apache2 -t: $(tr '\n' ' ' <"$C/configtest.out")"
    "$HTTPD" -f "$C/httpd.conf" -k start || fail "origin $1: httpd -k start"
    wait_until 20 curl -s -o /dev/null --max-time 2 "$(base "$1")/prep-status" ||
        fail "origin $1 did not answer on $(base "$1")"
}
# kill_origin O: SIGKILL to the server's process group (the parent, its
# workers) and to its intake's (the intake, its loader, its notify command),
# as a crash or a power cut would.
kill_origin() {
    local C="$W/$1" pid intake
    pid=$(httpd_pid "$C")
    intake=$(intake_pid_of "$C")
    [ -n "$pid" ] || { bad "origin $1 has no pid to kill"; return; }
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
    [ -z "$intake" ] || kill -KILL -- "-$intake" 2>/dev/null || true
    wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "origin $1 survived SIGKILL"
    rm -f "$C/run/httpd.pid"
}
st() { feed_status "$(base "$1")" "$FEED" "$2"; }
served_id() { st "$1" '(f.get("corte") or {}).get("id")'; }
state() { st "$1" 'f.get("state")'; }
serves() { [ "$(served_id "$1")" = "$2" ]; }
is_state() { [ "$(state "$1")" = "$2" ]; }
current_of() { cat "$W/$1/store/current" 2>/dev/null; }
# wait_swap O BEFORE: until O's STORE/current names another corte than
# BEFORE, polled every 10 ms (at most 20 s).
wait_swap() {
    local f="$W/$1/store/current" now
    for _ in $(seq 1 2000); do
        now=$(cat "$f" 2>/dev/null)
        [ -n "$now" ] && [ "$now" != "$2" ] && return 0
        sleep 0.01
    done
    return 1
}
# seen_in O NAME: O's journal has a "seen" line for package NAME.
seen_in() { grep '"event":"seen"' "$W/$1/store/journal.jsonl" 2>/dev/null | grep -qF "\"$2\""; }

# ---------------------------------------------------------------- packages
corte() { echo "2024-06-02T$1:00-06:00"; }
# package NAME TIME SEED [FILES [MB]]: PKG/NAME.tar.gz; ID[NAME] the corte id
# it must be published as (the corte time in UTC, the package's SHA-256).
declare -A ID=()
package() {
    local name=$1 time=$2 seed=$3 files=${4:-300} mb=${5:-}
    python3 "$GEN" "$PKG/$name.tar.gz" --corte "$time" --files "$files" --seed "$seed" \
        ${mb:+--size-mb "$mb"} >/dev/null 2>&1 || { echo "origins: genpackage $name failed"; return 1; }
    chmod 644 "$PKG/$name.tar.gz"
}
id_of() {
    python3 - "$PKG/$1.tar.gz" "$2" <<'EOF'
import datetime, hashlib, sys
h = hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest()
t = datetime.datetime.fromisoformat(sys.argv[2]).astimezone(datetime.timezone.utc)
print(t.strftime('%Y%m%dT%H%M%SZ') + '-' + h[:8])
EOF
}
# upload NAME: the institute's upload to origin A: the sha256 sidecar
# (PrepVerify sha256), then the package (a .part, then renamed).
upload() {
    (cd "$PKG" && sha256sum "$1.tar.gz") >"$W/a/incoming/$1.tar.gz.sha256" ||
        fail "cannot write $1's sidecar in A's incoming"
    cp "$PKG/$1.tar.gz" "$W/a/incoming/$1.tar.gz.part" || fail "cannot upload $1 to A"
    mv "$W/a/incoming/$1.tar.gz.part" "$W/a/incoming/$1.tar.gz" || fail "cannot rename $1 in A's incoming"
}
# in_step NAME SECONDS: both origins serve NAME's corte id within SECONDS.
in_step() {
    wait_until "$2" serves a "${ID[$1]}" || bad "A does not serve $1 (${ID[$1]}) within $2 s: $(served_id a)"
    wait_until "$2" serves b "${ID[$1]}" || bad "B does not serve $1 (${ID[$1]}) within $2 s: $(served_id b)"
}

# ---------------------------------------------------------------- haproxy
# hap CMD: a command on HAProxy's stats socket.
hap() {
    python3 - "$W/haproxy.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b'\n')
out = b''
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
EOF
}
# srv_up NAME / srv_down NAME: HAProxy's view of a server (show servers
# state: srv_op_state 2 running, 0 stopped).
srv_op_state() {
    hap "show servers state origins" | awk -v n="$1" '$4 == n { print $6 }'
}
srv_up() { [ "$(srv_op_state "$1")" = 2 ]; }
srv_down() { [ "$(srv_op_state "$1")" = 0 ]; }
# srv_requests NAME: the requests HAProxy sent to a server (show stat stot).
srv_requests() {
    hap "show stat" | awk -F, -v n="$1" '$1 == "origins" && $2 == n { print $8 }'
}
start_haproxy() {
    HAP_PORT=$(free_port)
    PREP_LISTEN="127.0.0.1:$HAP_PORT" PREP_ORIGIN_A="127.0.0.1:${PORT[a]}" \
        PREP_ORIGIN_B="127.0.0.1:${PORT[b]}" PREP_FEED=$FEED \
        PREP_CHECK_FILE="/prep/$FEED/json/main.json" PREP_HAPROXY_SOCKET="$W/haproxy.sock" \
        "$HAPROXY" -f "$HAPROXY_CFG" -D -p "$W/haproxy.pid" >"$W/haproxy.out" 2>&1 ||
        fail "haproxy did not start: $(head -c 400 "$W/haproxy.out")"
    wait_until 10 test -S "$W/haproxy.sock" || fail "no HAProxy stats socket"
}

# ---------------------------------------------------------------- clients
# N clients, each a keep-alive connection to HAProxy asking json/main.json
# and index.html in turn every 20 ms: every answer must be 200 with an
# X-PREP-Corte-Id no older than the newest that client saw.  Each writes
# W/client.K.json when W/stop appears.
CLIENTS=4
start_clients() {
    local k
    rm -f "$W/stop" "$W"/client.*.json
    for k in $(seq 1 "$CLIENTS"); do
        python3 - "127.0.0.1" "$HAP_PORT" "$FEED" "$W/stop" "$W/client.$k.json" <<'EOF' &
import http.client, json, os, sys, time
host, port, feed, stop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
paths = ['/prep/%s/json/main.json' % feed, '/prep/%s/index.html' % feed]
res = {'requests': 0, 'failures': [], 'regressions': [], 'ids': []}
newest = None
conn = None
i = 0
while not os.path.exists(stop):
    path = paths[i % len(paths)]
    i += 1
    t = time.time()
    try:
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request('GET', path)
        r = conn.getresponse()
        r.read()
        status, cid = r.status, r.getheader('X-PREP-Corte-Id')
        if r.getheader('Connection', '').lower() == 'close':
            conn.close()
            conn = None
    except Exception as e:
        status, cid = 'error: %s' % e, None
        conn = None
    res['requests'] += 1
    if status != 200 or not cid:
        res['failures'].append({'at': t, 'path': path, 'status': status, 'id': cid})
    elif newest is not None and cid < newest:
        res['regressions'].append({'at': t, 'path': path, 'id': cid, 'after': newest})
    if cid and status == 200 and (newest is None or cid > newest):
        newest = cid
        res['ids'].append(cid)
    time.sleep(0.02)
json.dump(res, open(out, 'w'))
EOF
        BG+=($!)
    done
}
# stop_clients: W/stop, then every client's result read: the number of
# requests, failures, regressions and corte ids seen, checked.
stop_clients() {
    local k p
    touch "$W/stop"
    for p in "${BG[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    BG=()
    for k in $(seq 1 "$CLIENTS"); do
        [ -s "$W/client.$k.json" ] || bad "client $k wrote no result"
    done
    python3 - "$W" "$CLIENTS" "$@" <<'EOF' || bad "$(cat "$W/clients.why" 2>/dev/null)"
import json, sys
w, n, want = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
total, fails, regs, ids = 0, [], [], set()
for k in range(1, n + 1):
    try:
        r = json.load(open('%s/client.%d.json' % (w, k)))
    except Exception:
        continue
    total += r['requests']
    fails += r['failures']
    regs += r['regressions']
    ids.update(r['ids'])
# each failure with the step it happened in (W/steps: start time, name)
steps = []
try:
    for line in open(w + '/steps'):
        t, name = line.rstrip('\n').split(' ', 1)
        steps.append((float(t), name.split(' ')[0]))
except OSError:
    pass
def step_of(e):
    name = '?'
    for t, n in steps:
        if e['at'] >= t:
            name = n
    return name
for e in fails + regs:
    e['step'] = step_of(e)
def per_step(l):
    c = {}
    for e in l:
        c[e['step']] = c.get(e['step'], 0) + 1
    return ', '.join('%s: %d' % kv for kv in sorted(c.items()))
why = []
if fails:
    why.append('%d of %d requests failed (%s), first %s' % (len(fails), total, per_step(fails), fails[0]))
if regs:
    why.append('%d answers older than one the client saw (%s), first %s' % (len(regs), per_step(regs), regs[0]))
missing = [i for i in want if i not in ids]
if missing:
    why.append('no client saw %s' % ' '.join(missing))
print('clients: %d requests, %d failed, %d older, %d corte ids seen' % (total, len(fails), len(regs), len(ids)))
open(w + '/clients.why', 'w').write('; '.join(why))
sys.exit(1 if why else 0)
EOF
}

# ---------------------------------------------------------------- setup
package P1 "$(corte 21:05)" 11 &
package P3 "$(corte 21:15)" 13 &
package P4 "$(corte 21:20)" 14 &
wait
package P6 "$(corte 21:30)" 16 &
package P7 "$(corte 21:35)" 17 &
package P8 "$(corte 21:40)" 18 &
# the big ones, to be killed during their load: gzip unpacks too fast now
# (libdeflate, well under the 0.3 s the kill waits), so they are bzip2
# under the same name (libarchive reads the content, not the name): seconds
package P2 "$(corte 21:10)" 12 2000 8 &
package P5 "$(corte 21:25)" 15 2000 8 &
wait
for p in P2 P5; do
    gzip -dc "$PKG/$p.tar.gz" | bzip2 -1 >"$PKG/$p.tar.bz" && mv "$PKG/$p.tar.bz" "$PKG/$p.tar.gz" ||
        { echo "origins: bzip2 $p failed"; exit 1; }
done
for p in P1 P2 P3 P4 P5 P6 P7 P8; do
    [ -s "$PKG/$p.tar.gz" ] || { echo "origins: package $p missing"; exit 1; }
done
ID[P1]=$(id_of P1 "$(corte 21:05)")
ID[P2]=$(id_of P2 "$(corte 21:10)")
ID[P3]=$(id_of P3 "$(corte 21:15)")
ID[P4]=$(id_of P4 "$(corte 21:20)")
ID[P5]=$(id_of P5 "$(corte 21:25)")
ID[P6]=$(id_of P6 "$(corte 21:30)")
ID[P7]=$(id_of P7 "$(corte 21:35)")
ID[P8]=$(id_of P8 "$(corte 21:40)")
echo "origins: packages made ($((SECONDS - T0))s)"

printf 'REPLICATE_TO="%s"\n' "$W/b/incoming/" >"$W/replicate.conf"
chmod 644 "$W/replicate.conf"
EXTRA_FEED_CONF="    PrepVerify sha256" origin_setup b
EXTRA_FEED_CONF="    PrepVerify sha256
    PrepNotify $REPLICATE $W/replicate.conf" origin_setup a

# ---------------------------------------------------------------- 1
step "1 waiting out; the same corte id on A and B"
start_origin a
start_origin b
start_haproxy
wait_until 5 srv_down a || bad "A waiting (empty store) is not out of HAProxy: $(srv_op_state a)"
wait_until 5 srv_down b || bad "B waiting (empty store) is not out of HAProxy: $(srv_op_state b)"
upload P1
in_step P1 20
wait_until 5 srv_up b || bad "B serving P1 did not come into HAProxy: $(srv_op_state b)"
wait_until 5 srv_up a || bad "A serving P1 did not come into HAProxy: $(srv_op_state a)"
[ -n "$(ls "$W/b/store/processed" 2>/dev/null)" ] || bad "B's STORE/processed is empty: B did not load a package of its own"
[ -e "$W/b/store/processed/P1.tar.gz.sha256" ] ||
    bad "P1's sidecar is not in B's STORE/processed: B did not verify P1 on its own"
grep -q '"event":"notify"' "$W/a/store/journal.jsonl" ||
    bad "A's journal has no notify event: PrepNotify did not run"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$HAP_PORT/prep/$FEED/json/main.json")
[ "$code" = 200 ] || bad "through HAProxy json/main.json is $code"
# a package A refuses (its sidecar names another SHA-256) never reaches B
(cd "$PKG" && sha256sum P1.tar.gz | sed 's/P1/BAD/') >"$W/a/incoming/BAD.tar.gz.sha256"
cp "$PKG/P8.tar.gz" "$W/a/incoming/BAD.tar.gz.part"
mv "$W/a/incoming/BAD.tar.gz.part" "$W/a/incoming/BAD.tar.gz"
wait_until 20 test -e "$W/a/store/rejected/BAD.tar.gz" || bad "A did not refuse BAD (a wrong sidecar)"
sleep 1
if [ -e "$W/b/incoming/BAD.tar.gz" ] || seen_in b BAD.tar.gz; then
    bad "BAD, refused by A, was copied to B"
fi
if ! serves a "${ID[P1]}" || ! serves b "${ID[P1]}"; then
    bad "after BAD the origins do not both serve P1"
fi
[ -s "$W/failures" ] && fail "the origins are not in step; the rest needs them"

# ---------------------------------------------------------------- 2
step "2a A killed during a load"
start_clients
sleep 1
upload P2
wait_until 20 seen_in a P2.tar.gz || fail "A did not start loading P2"
sleep 0.3
kill_origin a
[ "$(current_of a)" = "${ID[P2]}" ] && bad "A's load of P2 had ended before the kill: the case tests nothing"
sleep 1
start_origin a
in_step P2 30

step "2b A killed when it publishes"
before=$(current_of a)
upload P3
wait_swap a "$before" || fail "A did not publish P3"
kill_origin a
log "A killed at its swap; B has $(current_of b); B's incoming: $(find "$W/b/incoming" -mindepth 1 -printf '%f ')"
sleep 1
start_origin a
in_step P3 30

step "2c B killed when it publishes"
before=$(current_of b)
upload P4
wait_swap b "$before" || fail "B did not publish P4"
kill_origin b
wait_until 5 srv_down b || bad "B killed is not out of HAProxy"
sleep 1
start_origin b
in_step P4 20
wait_until 5 srv_up b || bad "B started again did not come back into HAProxy"

step "2d B killed during a load"
upload P5
wait_until 30 seen_in b P5.tar.gz || fail "B did not start loading P5"
sleep 0.3
kill_origin b
[ "$(current_of b)" = "${ID[P5]}" ] && bad "B's load of P5 had ended before the kill: the case tests nothing"
wait_until 5 srv_down b || bad "B killed is not out of HAProxy"
sleep 1
start_origin b
in_step P5 30
wait_until 5 srv_up b || bad "B started again did not come back into HAProxy"

step "2e B back behind stays out until it caught up"
kill_origin b
wait_until 5 srv_down b || bad "B killed is not out of HAProxy"
upload P6
wait_until 20 serves a "${ID[P6]}" || bad "A did not publish P6"
# the copy to B is taken away: B comes back with P5, a corte older than
# the one the clients were given
wait_until 10 test -e "$W/b/incoming/P6.tar.gz" || bad "P6 was not copied to B's incoming"
rm -f "$W/b/incoming/P6.tar.gz"
sleep 0.5
start_origin b
wait_until 10 is_state b serving || bad "B is not serving after its start: $(state b)"
serves b "${ID[P5]}" || bad "B does not serve P5 after its start: $(served_id b)"
sleep 2
srv_down b || bad "B serving P5, older than P6 handed out, came into HAProxy ($(srv_op_state b))"
upload P7
in_step P7 30
wait_until 5 srv_up b || bad "B serving P7 did not come back into HAProxy"
sleep 1
stop_clients "${ID[P1]}" "${ID[P2]}" "${ID[P3]}" "${ID[P4]}" "${ID[P5]}" "${ID[P6]}" "${ID[P7]}"
for s in a b; do
    n=$(srv_requests "$s")
    log "HAProxy sent $n requests to $s"
    [ "${n:-0}" -gt 0 ] || bad "HAProxy sent no request to $s: the failovers were not exercised"
done

# ---------------------------------------------------------------- 3
step "3 B stale out, fresh back"
sed -i "s|^    PrepSettleTime 1|    PrepSettleTime 1\n    PrepUpdateInterval 2s|" "$W/b/httpd.conf"
"$HTTPD" -f "$W/b/httpd.conf" -k graceful || bad "B's graceful restart failed"
wait_until 20 is_state b stale || bad "B with PrepUpdateInterval 2s is not stale: $(state b)"
wait_until 5 srv_down b || bad "B stale is not out of HAProxy: $(srv_op_state b)"
srv_up a || bad "A (serving) is out of HAProxy"
upload P8
in_step P8 30
wait_until 5 is_state b serving || bad "B is not fresh after P8: $(state b)"
wait_until 5 srv_up b || bad "B fresh again did not come back into HAProxy: $(srv_op_state b)"
end_step
