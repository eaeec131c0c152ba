#!/usr/bin/env bash
# tests/varnish.sh — conf/varnish/prep.vcl in a real varnishd (Debian's
# Varnish 7.1) in front of a real httpd with mod_prep, three feeds:
#   cinco  PrepEdgeTTL 10m main=5s   (files and main.json held by Varnish)
#   borde  PrepEdgeTTL 10m           (files held, main.json never stored)
#   llano  no PrepEdgeTTL            (files revalidated with If-None-Match)
# each with PrepNotify contrib/prep-purge-varnish (the BANs of prep.vcl).
#
#   1  between cortes, wrk on every file x br/gzip/identity of the three
#      feeds for 5 s and a poller on each main.json: the origin sees at most
#      one request per file and encoding (cinco, borde), at most one 200 per
#      file and encoding, the rest 304 (llano), every main.json poll of
#      borde and llano, at most ~1 per 5 s of cinco's;
#   2  a publish (adding a file that was a cached 404), a rollback, a reset
#      and a publish again, on cinco and borde: 1 s after the origin serves
#      the change, every file through Varnish in br, gzip and identity has
#      the origin's status, X-PREP-Corte-Id, Content-Encoding and bytes;
#   3  fetches in flight during the publish (a proxy that holds each answer
#      of the origin 300 ms, PREP_VARNISH_HOLD_MS): objects of the old corte inserted after the
#      first BAN are gone 1 s after the repeated one;
#   4  2,000 keep-alive clients poll cinco's main.json every 2 s for 20 s
#      with a publish in the middle: the origin gets at most ~1 main.json
#      request a second, every poll sent more than 1 s after the origin
#      served the new corte gets it (the worst lag is printed).
#
# Needs root (httpd as root with User PREP_TEST_USER; varnishd runs as that
# user), varnishd, wrk, brotli, curl, python3.  About 90 seconds.
#
#   tests/varnish.sh [TOP] [CASE...]
#
# Environment: PREP_TEST_USER (prepci), PREP_SO, PREP_TEST_KEEP=1 keeps the
# work directory (a failed run keeps it anyway).
set -uo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
shift || true
CASES=${*:-1 2 3 4}
GEN="$TOP/tests/genpackage.py"
PY="$TOP/tests/varnish.py"
PREPCTL="$TOP/prepctl"
VCL="$TOP/conf/varnish/prep.vcl"
PURGE="$TOP/contrib/prep-purge-varnish"
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
WAIT_STEP=0.1
root_test_setup varnish || exit 0
T0=$SECONDS
for tool in varnishd varnishadm varnishncsa wrk brotli curl; do
    command -v "$tool" >/dev/null || { echo "varnish: $tool is not installed"; exit 1; }
done
[ -x "$PREPCTL" ] || { echo "varnish: $PREPCTL not built"; exit 1; }
# 2,000 clients and as many connections in varnishd
ulimit -n 16384 2>/dev/null || ulimit -n 8192 2>/dev/null || true
[ "$(ulimit -n)" -ge 4500 ] || { echo "varnish: ulimit -n $(ulimit -n) is too low for 2,000 clients"; exit 1; }

C="$W/srv"
PKG="$W/pkg"
VN="$W/vn"
mkdir -p "$C/logs" "$C/run" "$PKG" "$VN"
chmod 755 "$C" "$C/run" "$PKG"
chown "$USER_NAME:" "$VN"
HPORT=$(free_port)
VPORT=$(free_port)
XPORT=$(free_port)
ORIGIN="http://127.0.0.1:$HPORT"
VARNISH="http://127.0.0.1:$VPORT"
FEEDS="cinco borde llano"
declare -A EDGE=([cinco]="PrepEdgeTTL 10m main=5s" [borde]="PrepEdgeTTL 10m" [llano]="")
declare -A CASE_NAME=(
    [1]="between cortes: Varnish answers"
    [2]="publish, rollback, reset: 1 s"
    [3]="a fetch in flight at the purge"
    [4]="2,000 clients polling main.json"
)

N=0
log() { echo "varnish[$N]: $*"; }
bad() {
    log "FAIL: $*"
    echo "$*" >>"$W/failures.$N"
}
dump() {
    echo "---- error_log (last 15 lines)"
    tail -15 "$C/logs/error_log" 2>/dev/null | cut -c1-300 || true
    echo "---- varnishd"
    tail -5 "$W/varnishd.out" 2>/dev/null || true
}

cleanup() {
    local pid
    stop_httpd "$C"
    for pid in "$W/proxy.pid" "$W/ncsa.pid" "$W/vlog.pid" "$VN/varnishd.pid"; do
        [ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null
    done
    return 0
}
trap cleanup EXIT

now() { date +%s.%N; }

# ---------------------------------------------------------------- the servers
# The VCL as shipped, its backend the origin (or the delaying proxy).
vcl_for() {
    sed "s/^\(    \.port = \)\"8080\";/\1\"$1\";/" "$VCL" >"$W/prep-$1.vcl"
    grep -q "\"$1\"" "$W/prep-$1.vcl" || fail "no backend .port = \"8080\" in $VCL"
    chmod 644 "$W/prep-$1.vcl"
    echo "$W/prep-$1.vcl"
}
vadm() { varnishadm -n "$VN" "$@"; }
use_backend() {
    local name=b$1
    vadm vcl.list | grep -q " $name\$" || vadm vcl.load "$name" "$(vcl_for "$1")" >/dev/null ||
        fail "vcl.load for the backend $1"
    vadm vcl.use "$name" >/dev/null || fail "vcl.use $name"
}
start_varnish() {
    as_user varnishd -n "$VN" -a "127.0.0.1:$VPORT" -f "$(vcl_for "$HPORT")" -s malloc,128m \
        -p thread_pool_min=50 -P "$VN/varnishd.pid" >"$W/varnishd.out" 2>&1 ||
        fail "varnishd did not start: $(tail -5 "$W/varnishd.out")"
    wait_until 20 curl -s -o /dev/null --max-time 2 "$VARNISH/" || fail "varnishd does not answer on $VARNISH"
    # every BAN with its time, for case 3
    varnishncsa -n "$VN" -q 'ReqMethod eq "BAN"' \
        -F '%{VSL:Timestamp:Start[1]}x %{X-PREP-Feed}i %{X-PREP-Keep}i %s' \
        -a -w "$W/bans.log" -D -P "$W/ncsa.pid" || fail "varnishncsa"
    # and what went wrong, for a failed run (varnishlog -r W/errors.vsl)
    varnishlog -n "$VN" -g request -q 'FetchError or SessClose ~ "ERR|RX_" or BerespStatus >= 500' \
        -w "$W/errors.vsl" -D -P "$W/vlog.pid" || fail "varnishlog"
}

# The purge: PrepNotify with contrib/prep-purge-varnish when it is there;
# otherwise the test sends the two BANs itself when the origin changes.
NOTIFY=0
[ -x "$PURGE" ] && NOTIFY=1
feed_conf() {
    local feed=$1
    cat <<EOF
<PrepFeed $feed>
    PrepIncoming   $C/$feed/incoming
    PrepStore      $C/$feed/store
    PrepSettleTime 1
    PrepCorteTime  json json/main.json /fechaCorte
    ${EDGE[$feed]}
EOF
    [ "$NOTIFY" = 1 ] && echo "    PrepNotify $W/prep-purge-varnish $W/varnish-purge.conf"
    cat <<EOF
</PrepFeed>
<Location /prep/$feed>
    SetHandler prep
    PrepServe $feed
</Location>
EOF
}
start_httpd() {
    local feed
    if [ "$NOTIFY" = 1 ]; then
        cp "$PURGE" "$W/prep-purge-varnish"
        echo "VARNISH_URLS=\"$VARNISH/\"" >"$W/varnish-purge.conf"
        chmod 755 "$W/prep-purge-varnish"
        chmod 644 "$W/varnish-purge.conf"
    fi
    for feed in $FEEDS; do
        mkdir -p "$C/$feed/incoming" "$C/$feed/store"
        chown "$USER_NAME:" "$C/$feed/incoming" "$C/$feed/store"
    done
    write_server_conf "$C" "$HPORT" none
    # write_server_conf's feed "none" is replaced by the three of this test
    python3 - "$C/httpd.conf" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"<PrepFeed none>.*?</PrepFeed>\n<Location /prep/none>.*?</Location>\n", "", s, flags=re.S)
open(p, "w").write(s)
EOF
    {
        echo "LogFormat \"%{sec}t.%{usec_frac}t %>s \\\"%U\\\" \\\"%{Accept-Encoding}i\\\" \\\"%{X-PREP-Corte-Id}o\\\" \\\"%{User-Agent}i\\\"\" prepv"
        echo "CustomLog $C/logs/access_log prepv"
        for feed in $FEEDS; do feed_conf "$feed"; done
    } >>"$C/httpd.conf"
    "$HTTPD" -t -f "$C/httpd.conf" >"$W/configtest.out" 2>&1 || fail "apache2 -t: $(tr '\n' ' ' <"$W/configtest.out")"
    "$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start"
    wait_until 20 curl -s -o /dev/null --max-time 2 "$ORIGIN/prep-status" || fail "httpd does not answer on $ORIGIN"
}

# ---------------------------------------------------------------- cortes
corte() { echo "2024-06-02T$1:00-06:00"; }
# package NAME TIME SEED [EXTRA_FILE]: PKG/NAME.tar.gz, 300 files, the same
# static files for every seed of a feed (only the data changes).
package() {
    python3 "$GEN" "$PKG/$1.tar.gz" --corte "$2" --files 300 --seed "$3" --only-data-changes-from 1 \
        >/dev/null 2>&1 || fail "genpackage $1"
    [ -z "${4:-}" ] || python3 "$PY" addfile "$PKG/$1.tar.gz" "$4" "<!doctype html><title>$1</title><body>$1</body>" ||
        fail "addfile $1"
    chmod 644 "$PKG/$1.tar.gz"
}
upload() {
    local feed=$1 name=$2
    cp "$PKG/$name.tar.gz" "$C/$feed/incoming/.$name.tar.gz"
    chown "$USER_NAME:" "$C/$feed/incoming/.$name.tar.gz"
    mv "$C/$feed/incoming/.$name.tar.gz" "$C/$feed/incoming/$name.tar.gz"
}
served_id() { feed_status "$ORIGIN" "$1" '(f.get("corte") or {}).get("id")'; }
# origin_id FEED: the X-PREP-Corte-Id of the origin's main.json, or
# status-NNN when it has none (a feed that waits: 503).
origin_id() {
    curl -s -o /dev/null -D - --max-time 5 -A prep-origin-watch "$ORIGIN/prep/$1/json/main.json" |
        tr -d '\r' | awk 'NR == 1 { s = "status-" $2 } tolower($1) == "x-prep-corte-id:" { id = $2 } END { print id ? id : s }'
}
has_corte() {
    case "$(origin_id "$1")" in status-*) return 1 ;; esac
}
# watch FEED OLD: waits until the origin's main.json is no longer OLD's;
# sets CHANGED_AT (epoch) and NEW_ID (the id, or status-503).  Without
# PrepNotify, sends the BANs the purge script would.
watch() {
    local out
    out=$(python3 "$PY" watch "$ORIGIN/prep/$1/json/main.json" "$2") || fail "$1: the origin did not change from $2"
    CHANGED_AT=${out%% *}
    NEW_ID=${out#* }
    if [ "$NOTIFY" = 0 ]; then
        local keep=()
        [ "${NEW_ID#status-}" = "$NEW_ID" ] && keep=(-H "X-PREP-Keep: $NEW_ID")
        curl -s -o /dev/null -X BAN -H "X-PREP-Feed: $1" "${keep[@]}" "$VARNISH/"
        (sleep 0.5; curl -s -o /dev/null -X BAN -H "X-PREP-Feed: $1" "${keep[@]}" "$VARNISH/") &
    fi
}
# publish FEED NAME: uploads NAME and waits for the origin to serve it.
publish() {
    local before
    before=$(origin_id "$1")
    upload "$1" "$2"
    watch "$1" "$before"
}
sleep_until() {
    local d
    d=$(python3 -c "import sys, time; print(max(0.0, float(sys.argv[1]) - time.time()))" "$1")
    sleep "$d"
}
after() { python3 -c "import sys; print(float(sys.argv[1]) + float(sys.argv[2]))" "$1" "$2"; }
paths_of() { python3 "$PY" paths "$PKG/$1.tar.gz" >"$W/paths.$2"; }
pctl() {
    "$PREPCTL" "$1" --feeds "$C/run/mod_prep-feeds.json" "${@:2}" </dev/null >"$W/pctl.out" 2>"$W/pctl.err" ||
        bad "prepctl $*: $(head -c 300 "$W/pctl.err")"
}
origin_log() { python3 "$PY" origin "$C/logs/access_log" "$1" "$2"; }

# ---------------------------------------------------------------- 1
case_1() {
    local feed t_from t_to
    for feed in $FEEDS; do
        package "$feed-a" "$(corte 21:05)" 11
        upload "$feed" "$feed-a"
    done
    for feed in $FEEDS; do
        wait_until 30 sh -c "[ -n \"\$(curl -s -o /dev/null -D - '$ORIGIN/prep/$feed/json/main.json' | grep -i '^x-prep-corte-id')\" ]" ||
            fail "$feed-a was not published within 30 s"
    done
    paths_of cinco-a all
    # wrk's requests: every file of the three feeds in three encodings
    python3 - "$W/paths.all" "$FEEDS" >"$W/files.lua" <<'EOF'
import sys
paths = [l.strip() for l in open(sys.argv[1]) if l.strip() and l.strip() != "json/main.json"]
reqs = ['"/prep/%s/%s"' % (f, p) for f in sys.argv[2].split() for p in paths]
print("local paths = {" + ",\n".join(reqs) + "}")
print('''local encs = {"br", "gzip", "identity"}
local i = 0
request = function()
  i = i + 1
  local p = paths[(i % #paths) + 1]
  local e = encs[(math.floor(i / #paths) % 3) + 1]
  return wrk.format("GET", p, {["Accept-Encoding"] = e})
end''')
EOF
    t_from=$(now)
    for feed in $FEEDS; do
        python3 "$PY" poll "$VARNISH/prep/$feed/json/main.json" 0.1 5 "$W/poll.$feed" &
    done
    wrk -t2 -c32 -d5s -s "$W/files.lua" "$VARNISH" >"$W/wrk.out" 2>&1 || bad "wrk: $(tail -3 "$W/wrk.out")"
    wait
    t_to=$(now)
    sleep 0.5
    origin_log "$t_from" "$t_to" >"$W/origin.1" || fail "reading the access log"
    local report
    report=$(python3 - "$W/origin.1" "$W" "$(wc -l <"$W/paths.all")" <<'EOF'
import json, sys
keys = json.load(open(sys.argv[1]))
W, nfiles = sys.argv[2], int(sys.argv[3])
errs, out = [], {}
for feed in ("cinco", "borde", "llano"):
    mine = {k: v for k, v in keys.items() if k.startswith("/prep/%s/" % feed)}
    files = {k: v for k, v in mine.items() if not k.startswith("/prep/%s/json/main.json " % feed)}
    # hidden names of the package are 404s: they live 1 s (5 s with main=5s)
    gone = {k: v for k, v in files.items() if set(v[1]) == {"404"}}
    files = {k: v for k, v in files.items() if k not in gone}
    most = 2 if feed == "cinco" else 6
    over = {k: v for k, v in gone.items() if v[0] > most}
    if over:
        errs.append("%s: %d 404s reached the origin more than %d times in 5 s, e.g. %s" %
                    (feed, len(over), most, sorted(over.items())[:2]))
    main = sum(v[0] for k, v in mine.items() if k.startswith("/prep/%s/json/main.json " % feed))
    polls = [l.split() for l in open("%s/poll.%s" % (W, feed))]
    stored = sum(1 for p in polls if p[3] == "HIT")
    if feed in ("cinco", "borde"):
        over = {k: v for k, v in files.items() if v[0] > 1}
        if over:
            errs.append("%s: %d file variants reached the origin more than once, e.g. %s" %
                        (feed, len(over), sorted(over.items())[:2]))
    else:
        over = {k: v for k, v in files.items() if v[1].get("200", 0) > 1}
        if over:
            errs.append("%s: %d file variants were sent whole more than once, e.g. %s" %
                        (feed, len(over), sorted(over.items())[:2]))
    if feed == "cinco":
        if main > 2:
            errs.append("cinco: %d main.json requests reached the origin in 5 s (main=5s)" % main)
    elif main != len(polls) or stored:
        errs.append("%s: %d main.json polls, %d reached the origin, %d were HITs" % (feed, len(polls), main, stored))
    out[feed] = {"origin_file_requests": sum(v[0] for v in files.values()),
                 "origin_200": sum(v[1].get("200", 0) for v in files.values()),
                 "origin_404": sum(v[0] for v in gone.values()),
                 "origin_304": sum(v[1].get("304", 0) for v in files.values()),
                 "main_polls": len(polls), "main_at_origin": main}
print(json.dumps(out))
for e in errs:
    print("ERR " + e)
EOF
)
    log "origin in 5 s: $(head -1 <<<"$report")"
    grep '^ERR ' <<<"$report" | while read -r _ e; do echo "$e" >>"$W/failures.$N"; log "FAIL: $e"; done
    local rps total
    rps=$(sed -n 's/^Requests\/sec: *//p' "$W/wrk.out")
    total=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$W/wrk.out")
    log "wrk through Varnish: $total requests, $rps/s, $(wc -l <"$W/paths.all") files x 3 encodings x 3 feeds"
    echo "1 wrk_requests=$total wrk_rps=$rps $(head -1 <<<"$report")" >>"$W/figures"
}

# ---------------------------------------------------------------- 2
# check_all FEED WHAT: 1 s after CHANGED_AT every file (and the added one)
# through Varnish is what the origin answers.
check_all() {
    local feed=$1 what=$2 out lag
    sleep_until "$(after "$CHANGED_AT" 1)"
    out=$(python3 "$PY" check "$VARNISH/prep/$feed" "$ORIGIN/prep/$feed" "$W/paths.$feed") ||
        bad "$feed $what: 1 s after the origin changed to $NEW_ID, Varnish differs: $out"
    lag=$(python3 -c "import sys, time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$CHANGED_AT")
    log "$feed $what -> $NEW_ID: checked at +1 s (done +${lag} s): $out"
    echo "2 $feed $what $out" >>"$W/figures"
}
warm() { python3 "$PY" fetch "$VARNISH/prep/$1" "$W/paths.$1" "$W/warm.$1" || fail "warming $1"; }
case_2() {
    local feed a
    for feed in cinco borde; do
        has_corte "$feed" || { package "$feed-a" "$(corte 21:05)" 11; publish "$feed" "$feed-a"; }
        package "$feed-b" "$(corte 21:10)" 12 nuevo/agregado.html
        package "$feed-c" "$(corte 21:15)" 13 nuevo/agregado.html
        paths_of "$feed-b" "$feed"
        a=$(origin_id "$feed")
        warm "$feed"
        grep -q '"path": "nuevo/agregado.html".*"status": 404' "$W/warm.$feed" ||
            bad "$feed: nuevo/agregado.html is not a 404 before the publish"
        publish "$feed" "$feed-b"
        check_all "$feed" publish

        warm "$feed"
        pctl rollback "$feed"
        watch "$feed" "$NEW_ID"
        [ "$NEW_ID" = "$a" ] || bad "$feed: the rollback serves $NEW_ID, not $a"
        check_all "$feed" rollback

        warm "$feed"
        pctl reset "$feed" --yes
        watch "$feed" "$NEW_ID"
        [ "$NEW_ID" = status-503 ] || bad "$feed: after the reset the origin answers $NEW_ID, not 503"
        check_all "$feed" reset

        warm "$feed"
        publish "$feed" "$feed-c"
        check_all "$feed" "publish after the reset"
    done
}

# ---------------------------------------------------------------- 3
# How long the proxy holds each answer: longer than the time from the
# publish to the first BAN (~0.1 s), shorter than the repeat (0.5 s).
HOLD_MS=${PREP_VARNISH_HOLD_MS:-300}
case_3() {
    local feed=borde old ban1 ban2 inflight served
    has_corte "$feed" || { package "$feed-c" "$(corte 21:15)" 13; publish "$feed" "$feed-c"; }
    package "$feed-d" "$(corte 21:20)" 14
    paths_of "$feed-d" "$feed"
    old=$(origin_id $feed)
    : >"$W/proxy.log"
    python3 "$PY" proxy "$XPORT" "$HPORT" "$HOLD_MS" "$W/proxy.log" &
    echo $! >"$W/proxy.pid"
    wait_until 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $XPORT), 1)" || fail "the proxy does not listen"
    use_backend "$XPORT"
    # nothing of the feed in the cache: every request of the stream is a
    # fetch, each held 300 ms
    curl -s -o /dev/null -X BAN -H "X-PREP-Feed: $feed" "$VARNISH/"
    local t_ban
    t_ban=$(now)
    python3 "$PY" stream "$VARNISH/prep/$feed" "$W/paths.$feed" 9 "$W/stream.out" &
    local stream=$!
    sleep 1
    publish "$feed" "$feed-d"
    wait "$stream"
    use_backend "$HPORT"
    kill "$(cat "$W/proxy.pid")" 2>/dev/null
    sleep 1.2
    # the bans that followed the publish: the first and the last
    read -r ban1 ban2 < <(awk -v t="$t_ban" -v id="$NEW_ID" '$1 > t + 0.2 && $3 == id { if (!f) f = $1; l = $1 } END { print f, l }' "$W/bans.log")
    [ -n "$ban1" ] || fail "no BAN keeping $NEW_ID reached Varnish (bans: $(tail -3 "$W/bans.log" | tr '\n' '|'))"
    inflight=$(awk -v a="$ban1" -v old="$old" '$1 > a && $2 == old { n++ } END { print n + 0 }' "$W/proxy.log")
    # what one BAN alone leaves: those objects served from the cache after it
    served=$(awk -v a="$ban1" -v b="$ban2" -v old="$old" '$1 > a && $1 < b && $2 == old && $3 == "HIT" { n++ } END { print n + 0 }' "$W/stream.out")
    log "BANs at +$(python3 -c "print('%.3f %.3f' % (float('$ban1') - $CHANGED_AT, float('$ban2') - $CHANGED_AT))") s after the origin served $NEW_ID; $inflight answers of the old corte reached Varnish after the first, $served HITs of the old corte between the two"
    [ "$inflight" -ge 1 ] || bad "no fetch of the old corte was in flight across the first BAN: the case proved nothing"
    [ "$served" -ge 1 ] || bad "no object of the old corte was served between the BANs: the case proved nothing"
    [ "$ban1" != "$ban2" ] || bad "only one BAN: a fetch in flight survives it"
    sleep_until "$(after "$ban2" 1)"
    local out
    out=$(python3 "$PY" check "$VARNISH/prep/$feed" "$ORIGIN/prep/$feed" "$W/paths.$feed") ||
        bad "1 s after the repeated BAN Varnish still differs from the origin: $out"
    log "1 s after the repeated BAN: $out"
    echo "3 inflight_after_first_ban=$inflight old_hits_between_bans=$served ban1=+$(python3 -c "print('%.3f' % (float('$ban1') - $CHANGED_AT))") ban2=+$(python3 -c "print('%.3f' % (float('$ban2') - $CHANGED_AT))") $out" >>"$W/figures"
}

# ---------------------------------------------------------------- 4
case_4() {
    local feed=cinco old t_from t_to swarm report main secs
    has_corte "$feed" || { package "$feed-c" "$(corte 21:15)" 13; publish "$feed" "$feed-c"; }
    package "$feed-e" "$(corte 21:25)" 15
    old=$(origin_id $feed)
    t_from=$(now)
    python3 "$PY" swarm "$VARNISH/prep/$feed/json/main.json" 2000 2 20 "$W/swarm.out" >"$W/swarm.json" &
    swarm=$!
    sleep 8
    publish "$feed" "$feed-e"
    wait "$swarm" || bad "the swarm failed: $(cat "$W/swarm.json")"
    t_to=$(now)
    grep -q '"errors": 0' "$W/swarm.json" || bad "the swarm had errors: $(cat "$W/swarm.json")"
    report=$(python3 "$PY" swarm-report "$W/swarm.out" "$CHANGED_AT" 1 "$old") ||
        bad "polls sent more than 1 s after the origin served $NEW_ID got $old: $report"
    secs=$(python3 -c "print('%.1f' % ($t_to - $t_from))")
    main=$(origin_log "$t_from" "$t_to" | python3 -c '
import json, sys
print(sum(v[0] for k, v in json.load(sys.stdin).items() if k.startswith("/prep/cinco/json/main.json ")))')
    log "2,000 clients: $(cat "$W/swarm.json") $report; the origin got $main main.json requests in $secs s"
    python3 -c "import sys; sys.exit(0 if $main <= $secs * 1.0 else 1)" ||
        bad "the origin got $main main.json requests in $secs s: more than one a second"
    echo "4 origin_main=$main seconds=$secs $report" >>"$W/figures"
}

start_varnish
start_httpd
log "httpd on $ORIGIN, varnishd on $VARNISH, purge by $([ "$NOTIFY" = 1 ] && echo "PrepNotify $PURGE" || echo "the test's own BANs (no $PURGE)")"
declare -a ROWS=()
FAILED=0
for N in $CASES; do
    [ -n "${CASE_NAME[$N]:-}" ] || { echo "varnish: no case $N"; exit 2; }
    echo
    echo "==== varnish case $N: ${CASE_NAME[$N]}"
    t=$SECONDS
    rm -f "$W/failures.$N"
    ( "case_$N" )
    rc=$?
    secs=$((SECONDS - t))
    if [ "$rc" = 0 ] && [ ! -s "$W/failures.$N" ]; then
        ROWS+=("$(printf '%3s  %-34s PASS %4ss' "$N" "${CASE_NAME[$N]}" "$secs")")
    else
        FAILED=1
        why=$(head -1 "$W/failures.$N" 2>/dev/null | cut -c1-110)
        ROWS+=("$(printf '%3s  %-34s FAIL %4ss  %s' "$N" "${CASE_NAME[$N]}" "$secs" "${why:-exit $rc}")")
    fi
done
echo
echo "==== varnish ($((SECONDS - T0))s)"
printf '%s\n' "${ROWS[@]}"
[ -s "$W/figures" ] && { echo "---- figures"; cat "$W/figures"; }
cleanup
if [ "$FAILED" = 0 ] && [ "${PREP_TEST_KEEP:-0}" != 1 ]; then
    rm -rf "$W"
else
    echo "varnish: the work directory is kept: $W"
fi
exit "$FAILED"
