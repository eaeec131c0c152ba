#!/usr/bin/env bash
# tests/contrib.sh — the PrepNotify scripts of contrib/, each run as
# mod_prep runs it (`SCRIPT CONF EVENT FEED [CORTE_ID]`, a clean
# environment with the PREP_* variables) against a local far end: a
# python3 HTTP server that records every request (method, path, headers,
# body) and answers as the case asks, a real varnishd for varnishadm, and a
# `sendmail` on PATH that writes the message to a file.
#   varnish     BAN to every VARNISH_URLS with X-PREP-Feed and X-PREP-Keep
#               (the served corte), the same again PREP_PURGE_REPEAT later;
#               no X-PREP-Keep for reset/republished/closed/drill; nothing
#               for seen; exit 1 on a 500, 2 without a config
#   varnishadm  `varnishadm ban` through a real varnishd: the ban list has
#               the expression
#   cloudflare  POST zones/ZONE/purge_cache, Bearer token, the tags of the
#               other cortes of the store (30 per request), the feed tag on
#               reset; exit 1 when the API says success false
#   fastly      POST service/ID/purge/KEY with Fastly-Key per other corte,
#               the feed key on reset, Fastly-Soft-Purge when asked
#   webhook     the journal line as the body, Bearer token, the event
#               filter, the timeout
#   mail        sendmail -t: Spanish subject "PREP qro: corte publicado
#               21:05", a refusal with its reason, a drill marked, accents
#               encoded (RFC 2047)
# No root needed.  About 15 s.
#
#   tests/contrib.sh [TOP] [CASES…]
set -euo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
shift || true
CASES=${*:-varnish varnishadm cloudflare fastly webhook mail}
W=$(mktemp -d /tmp/prep-contrib.XXXXXX)
chmod 755 "$W"
PIDS=""
cleanup() {
    local p
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    if [ "${PREP_TEST_KEEP:-0}" = 1 ]; then echo "contrib: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() {
    echo "contrib: FAIL: $*"
    echo "---- requests"
    cat "$W/requests.jsonl" 2>/dev/null | head -20 || true
    echo "---- output"
    cat "$W/out" 2>/dev/null | head -20 || true
    exit 1
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- the far end
cat >"$W/recorder.py" <<'EOF'
# Records every request as a JSON line; answers W/code (default 200) with
# W/body (default {"success": true}); a path with /slow waits 5 s first.
import json, sys, time, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
W = sys.argv[2]
class H(BaseHTTPRequestHandler):
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        rec = {"t": time.time(), "method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        with open(os.path.join(W, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        if "/slow" in self.path:
            time.sleep(5)
        try:
            code = int(open(os.path.join(W, "code")).read().strip())
        except Exception:
            code = 200
        try:
            out = open(os.path.join(W, "body"), "rb").read()
        except Exception:
            out = b'{"success": true}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_BAN = do_PURGE = handle_any
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
PORT=$(free_port)
python3 "$W/recorder.py" "$PORT" "$W" &
PIDS="$PIDS $!"
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/up" && break
    sleep 0.1
done
: >"$W/requests.jsonl"
FAR="http://127.0.0.1:$PORT"

# A fake store: three cortes, the second served.
ID1=20240603T030000Z-11111111
ID2=20240603T030500Z-22222222
ID3=20240603T031000Z-33333333
mkdir -p "$W/store/cortes/$ID1" "$W/store/cortes/$ID2" "$W/store/cortes/$ID3"
JOURNAL='{"at":"2024-06-02T21:05:41.208-06:00","feed":"qro","event":"published","corte":{"id":"'$ID2'","time":"2024-06-02T21:05:00-06:00","package":"PREP_QRO_2105.tar.gz"}}'

# run SCRIPT CONF EVENT [CORTE_ID] [VAR=VALUE…]: as mod_prep runs it; its
# status in RC, its output in W/out.
run() {
    local script=$1 conf=$2 event=$3 id=${4:-}
    shift 4 || shift $#
    local args=("$TOP/contrib/$script" "$conf" "$event" qro)
    [ -n "$id" ] && args+=("$id")
    : >"$W/requests.jsonl"
    set +e
    env -i PATH="${TEST_PATH:-/usr/local/bin:/usr/bin:/bin}" LANG=C.UTF-8 \
        PREP_EVENT="$event" PREP_FEED=qro PREP_AT=2024-06-02T21:05:41.208-06:00 \
        PREP_CORTE_ID="$id" PREP_CORTE_TIME=2024-06-02T21:05:00-06:00 \
        PREP_PACKAGE=PREP_QRO_2105.tar.gz PREP_PACKAGE_PATH="$W/store/processed/PREP_QRO_2105.tar.gz" \
        PREP_REASON= PREP_MESSAGE= PREP_USER= PREP_SERVED_ID="$ID2" \
        PREP_SERVED_TIME=2024-06-02T21:05:00-06:00 PREP_STORE="$W/store" PREP_INCOMING="$W/incoming" \
        PREP_DRILL=0 PREP_JOURNAL="$JOURNAL" "$@" "${args[@]}" >"$W/out" 2>&1 </dev/null
    RC=$?
    set -e
}
# requests PYTHON-EXPR: EXPR over `r`, the list of recorded requests.
requests() {
    python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$W/requests.jsonl" "$1"
}
expect() { # expect WHAT PYTHON-EXPR (true)
    [ "$(requests "$2")" = True ] || fail "$1"
}

case_varnish() {
    cat >"$W/varnish.conf" <<EOF
VARNISH_URLS="$FAR/a $FAR/b"
PREP_PURGE_REPEAT=0.3
EOF
    run prep-purge-varnish "$W/varnish.conf" published "$ID2"
    [ "$RC" = 0 ] || fail "varnish: published: exit $RC"
    expect "varnish: published: 4 BANs (2 URLs, twice)" 'len(r) == 4 and all(x["method"] == "BAN" for x in r)'
    expect "varnish: BAN to each URL" '[x["path"] for x in r] == ["/a", "/b", "/a", "/b"]'
    expect "varnish: X-PREP-Feed and X-PREP-Keep" \
        'all(x["headers"].get("x-prep-feed") == "qro" and x["headers"].get("x-prep-keep") == "'"$ID2"'" for x in r)'
    expect "varnish: the second BAN PREP_PURGE_REPEAT later" 'r[2]["t"] - r[1]["t"] >= 0.28'
    for e in reset republished closed drill; do
        run prep-purge-varnish "$W/varnish.conf" "$e" ""
        [ "$RC" = 0 ] || fail "varnish: $e: exit $RC"
        expect "varnish: $e: every object of the feed (no X-PREP-Keep)" \
            'len(r) == 4 and all(x["headers"].get("x-prep-feed") == "qro" and "x-prep-keep" not in x["headers"] for x in r)'
    done
    run prep-purge-varnish "$W/varnish.conf" seen ""
    [ "$RC" = 0 ] || fail "varnish: seen: exit $RC"
    expect "varnish: seen purges nothing" 'len(r) == 0'
    echo 500 >"$W/code"
    run prep-purge-varnish "$W/varnish.conf" published "$ID2"
    rm -f "$W/code"
    [ "$RC" = 1 ] || fail "varnish: a 500 is exit 1 (got $RC)"
    grep -q 'failed: HTTP 500' "$W/out" || fail "varnish: the output says HTTP 500"
    run prep-purge-varnish "$W/nonexistent.conf" published "$ID2"
    [ "$RC" = 2 ] || fail "varnish: no config is exit 2 (got $RC)"
    echo "contrib: varnish OK"
}

case_varnishadm() {
    if ! command -v varnishd >/dev/null || ! command -v varnishadm >/dev/null; then
        echo "contrib: varnishadm: varnishd not installed, skipped"
        return 0
    fi
    local vport aport
    vport=$(free_port)
    aport=$(free_port)
    mkdir -p "$W/vn"
    printf 'vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "%s"; }\n' "$PORT" >"$W/min.vcl"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/secret"
    local jail=()
    [ "$(id -u)" = 0 ] && jail=(-j none)
    varnishd "${jail[@]}" -n "$W/vn" -a "127.0.0.1:$vport" -T "127.0.0.1:$aport" -S "$W/secret" \
        -f "$W/min.vcl" -s malloc,16m -P "$W/varnishd.pid" >"$W/varnishd.log" 2>&1 ||
        fail "varnishadm: varnishd did not start: $(cat "$W/varnishd.log")"
    for _ in $(seq 1 50); do [ -s "$W/varnishd.pid" ] && break; sleep 0.1; done
    PIDS="$PIDS $(cat "$W/varnishd.pid")"
    for _ in $(seq 1 50); do
        varnishadm -n "$W/vn" ping >/dev/null 2>&1 && break
        sleep 0.2
    done
    cat >"$W/adm.conf" <<EOF
VARNISHADM_ARGS="-n $W/vn"
PREP_PURGE_REPEAT=0
EOF
    run prep-purge-varnish "$W/adm.conf" published "$ID2"
    [ "$RC" = 0 ] || fail "varnishadm: published: exit $RC: $(cat "$W/out")"
    # (checked at once: with nothing cached, an older ban goes when a newer
    # one comes)
    varnishadm -n "$W/vn" ban.list >"$W/bans"
    grep -qF "obj.http.X-PREP-Feed == qro && obj.http.X-PREP-Corte-Id != $ID2" "$W/bans" ||
        fail "varnishadm: the ban of published is not in ban.list: $(cat "$W/bans")"
    run prep-purge-varnish "$W/adm.conf" reset ""
    [ "$RC" = 0 ] || fail "varnishadm: reset: exit $RC"
    varnishadm -n "$W/vn" ban.list >"$W/bans"
    grep -qE "obj.http.X-PREP-Feed == qro$" "$W/bans" ||
        fail "varnishadm: the ban of reset is not in ban.list: $(cat "$W/bans")"
    kill "$(cat "$W/varnishd.pid")" 2>/dev/null || true
    echo "contrib: varnishadm OK"
}

case_cloudflare() {
    cat >"$W/cf.conf" <<EOF
CLOUDFLARE_ZONE=zona123
CLOUDFLARE_TOKEN=secreto-cf
CLOUDFLARE_API=$FAR/client/v4
EOF
    run prep-purge-cloudflare "$W/cf.conf" published "$ID2"
    [ "$RC" = 0 ] || fail "cloudflare: published: exit $RC: $(cat "$W/out")"
    expect "cloudflare: one POST to zones/ZONE/purge_cache" \
        'len(r) == 1 and r[0]["method"] == "POST" and r[0]["path"] == "/client/v4/zones/zona123/purge_cache"'
    expect "cloudflare: the bearer token" 'r[0]["headers"].get("authorization") == "Bearer secreto-cf"'
    expect "cloudflare: the tags of the other cortes" \
        'sorted(json.loads(r[0]["body"])["tags"]) == ["prep-qro-'"$ID1"'", "prep-qro-'"$ID3"'"]'
    run prep-purge-cloudflare "$W/cf.conf" reset ""
    expect "cloudflare: reset purges the feed tag" 'len(r) == 1 and json.loads(r[0]["body"]) == {"tags": ["prep-qro"]}'
    # 35 cortes: 30 tags per request
    for i in $(seq 10 44); do mkdir -p "$W/store2/cortes/20240603T0400${i}Z-abcdef$i"; done
    mkdir -p "$W/store2/cortes/$ID2"
    run prep-purge-cloudflare "$W/cf.conf" rollback "$ID2" PREP_STORE="$W/store2"
    [ "$RC" = 0 ] || fail "cloudflare: rollback: exit $RC"
    expect "cloudflare: 35 tags in two requests (30 + 5)" \
        '[len(json.loads(x["body"])["tags"]) for x in r] == [30, 5] and not any("'"$ID2"'" in x["body"] for x in r)'
    printf '{"success": false, "errors": [{"code": 1000, "message": "zona mala"}]}' >"$W/body"
    run prep-purge-cloudflare "$W/cf.conf" published "$ID2"
    rm -f "$W/body"
    [ "$RC" = 1 ] || fail "cloudflare: success false is exit 1 (got $RC)"
    grep -q 'zona mala' "$W/out" || fail "cloudflare: the API's answer is in the output"
    run prep-purge-cloudflare "$W/cf.conf" seen ""
    expect "cloudflare: seen purges nothing" 'len(r) == 0'
    ! grep -q secreto-cf "$W/out" || fail "cloudflare: the token is in the output"
    echo "contrib: cloudflare OK"
}

case_fastly() {
    cat >"$W/fastly.conf" <<EOF
FASTLY_SERVICE=serv1
FASTLY_TOKEN=secreto-fastly
FASTLY_API=$FAR
EOF
    run prep-purge-fastly "$W/fastly.conf" published "$ID2"
    [ "$RC" = 0 ] || fail "fastly: published: exit $RC: $(cat "$W/out")"
    expect "fastly: one POST per other corte's key" \
        'sorted(x["path"] for x in r) == ["/service/serv1/purge/prep-qro-'"$ID1"'", "/service/serv1/purge/prep-qro-'"$ID3"'"] and all(x["method"] == "POST" for x in r)'
    expect "fastly: Fastly-Key" 'all(x["headers"].get("fastly-key") == "secreto-fastly" for x in r)'
    expect "fastly: no soft purge by default" 'not any("fastly-soft-purge" in x["headers"] for x in r)'
    run prep-purge-fastly "$W/fastly.conf" closed "$ID2"
    expect "fastly: closed purges the feed key" '[x["path"] for x in r] == ["/service/serv1/purge/prep-qro"]'
    echo "FASTLY_SOFT=1" >>"$W/fastly.conf"
    run prep-purge-fastly "$W/fastly.conf" unpin "$ID2"
    expect "fastly: Fastly-Soft-Purge: 1" 'len(r) == 2 and all(x["headers"].get("fastly-soft-purge") == "1" for x in r)'
    echo 403 >"$W/code"
    run prep-purge-fastly "$W/fastly.conf" published "$ID2"
    rm -f "$W/code"
    [ "$RC" = 1 ] || fail "fastly: a 403 is exit 1 (got $RC)"
    echo "contrib: fastly OK"
}

case_webhook() {
    cat >"$W/hook.conf" <<EOF
WEBHOOK_URL=$FAR/hook
WEBHOOK_TOKEN=secreto-hook
EOF
    run prep-notify-webhook "$W/hook.conf" published "$ID2"
    [ "$RC" = 0 ] || fail "webhook: exit $RC: $(cat "$W/out")"
    expect "webhook: one POST to WEBHOOK_URL" 'len(r) == 1 and r[0]["method"] == "POST" and r[0]["path"] == "/hook"'
    [ "$(requests 'r[0]["body"]')" = "$JOURNAL" ] || fail "webhook: the body is the journal line as it is"
    expect "webhook: JSON" 'r[0]["headers"].get("content-type") == "application/json"'
    expect "webhook: the bearer token" 'r[0]["headers"].get("authorization") == "Bearer secreto-hook"'
    expect "webhook: X-PREP-Event and X-PREP-Served" \
        'r[0]["headers"].get("x-prep-event") == "published" and r[0]["headers"].get("x-prep-served") == "'"$ID2"'"'
    echo 'WEBHOOK_EVENTS="refused stale"' >>"$W/hook.conf"
    run prep-notify-webhook "$W/hook.conf" published "$ID2"
    expect "webhook: an event not in WEBHOOK_EVENTS is not sent" 'len(r) == 0'
    [ "$RC" = 0 ] || fail "webhook: filtered: exit $RC"
    cat >"$W/slow.conf" <<EOF
WEBHOOK_URL=$FAR/slow
WEBHOOK_TIMEOUT=1
EOF
    local t0=$SECONDS
    run prep-notify-webhook "$W/slow.conf" published "$ID2"
    [ "$RC" = 1 ] || fail "webhook: a timeout is exit 1 (got $RC)"
    [ $((SECONDS - t0)) -le 3 ] || fail "webhook: WEBHOOK_TIMEOUT is not kept"
    expect "webhook: no token configured, no Authorization" 'len(r) == 1 and "authorization" not in r[0]["headers"]'
    echo "contrib: webhook OK"
}

case_mail() {
    mkdir -p "$W/bin"
    cat >"$W/bin/sendmail" <<EOF
#!/bin/sh
n=\$(ls "$W/mail" 2>/dev/null | wc -l)
mkdir -p "$W/mail"
{ echo "ARGS: \$*"; cat; } >"$W/mail/\$n.eml"
EOF
    chmod 755 "$W/bin/sendmail"
    cat >"$W/mail.conf" <<EOF
MAIL_TO="guardia@example.org"
MAIL_FROM="PREP <prep@example.org>"
EOF
    cat >"$W/check_mail.py" <<'EOF'
import email, email.header, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"))
subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
body = msg.get_payload(decode=True).decode("utf-8")
print(subject)
print(msg["To"])
print(body)
EOF
    TEST_PATH="$W/bin:/usr/bin:/bin" run prep-notify-mail "$W/mail.conf" published "$ID2"
    [ "$RC" = 0 ] || fail "mail: exit $RC: $(cat "$W/out")"
    [ -s "$W/mail/0.eml" ] || fail "mail: sendmail got no message"
    head -1 "$W/mail/0.eml" | grep -q -- '-t' || fail "mail: sendmail -t"
    sed 1d "$W/mail/0.eml" >"$W/m0"
    python3 "$W/check_mail.py" "$W/m0" >"$W/m0.txt"
    [ "$(sed -n 1p "$W/m0.txt")" = "PREP qro: corte publicado 21:05" ] || fail "mail: subject '$(sed -n 1p "$W/m0.txt")'"
    [ "$(sed -n 2p "$W/m0.txt")" = "guardia@example.org" ] || fail "mail: To"
    grep -q "Corte: *$ID2" "$W/m0.txt" || fail "mail: the body names the corte"
    grep -qF "$JOURNAL" "$W/m0.txt" || fail "mail: the body has the journal line"
    TEST_PATH="$W/bin:/usr/bin:/bin" run prep-notify-mail "$W/mail.conf" refused "" \
        PREP_REASON=truncated PREP_MESSAGE="the package cannot be read to its end" PREP_PACKAGE=PREP_QRO_2110.tar.gz
    sed 1d "$W/mail/1.eml" >"$W/m1"
    python3 "$W/check_mail.py" "$W/m1" >"$W/m1.txt"
    [ "$(sed -n 1p "$W/m1.txt")" = "PREP qro: paquete rechazado (truncated)" ] || fail "mail: refused subject '$(sed -n 1p "$W/m1.txt")'"
    grep -q "Motivo: *truncated" "$W/m1.txt" || fail "mail: the refusal's reason"
    grep -q "Mensaje: *the package cannot be read to its end" "$W/m1.txt" || fail "mail: the refusal's message"
    grep -q "Paquete: *PREP_QRO_2110.tar.gz" "$W/m1.txt" || fail "mail: the package"
    TEST_PATH="$W/bin:/usr/bin:/bin" run prep-notify-mail "$W/mail.conf" damaged "$ID2" PREP_DRILL=1
    sed 1d "$W/mail/2.eml" >"$W/m2"
    grep -q '^Subject: =?UTF-8?B?' "$W/m2" || fail "mail: a subject with accents is RFC 2047 encoded"
    python3 "$W/check_mail.py" "$W/m2" >"$W/m2.txt"
    [ "$(sed -n 1p "$W/m2.txt")" = "[SIMULACRO] PREP qro: corte dañado 21:05; se vuelve a publicar" ] ||
        fail "mail: drill subject '$(sed -n 1p "$W/m2.txt")'"
    TEST_PATH="$W/bin:/usr/bin:/bin" run prep-notify-mail "$W/mail.conf" seen ""
    [ ! -e "$W/mail/3.eml" ] || fail "mail: seen is not in MAIL_EVENTS by default"
    echo "contrib: mail OK"
}

for c in $CASES; do
    "case_$c"
done
echo "contrib: OK"
