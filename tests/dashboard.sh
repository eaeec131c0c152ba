#!/usr/bin/env bash
# tests/dashboard.sh — the night's dashboard (/prep-status as HTML) on a
# real httpd (started as root with `User USER_NAME` and `PrepUser
# LOADER_NAME`, tests/root-test.sh), read by curl and rendered by a real
# headless chromium run as the unprivileged USER_NAME:
#
#   1. a feed "qro" with PrepUpdateInterval 2s publishes two cortes, refuses
#      one package (older-corte, with a hostile name) and becomes stale, for
#      longer than 6 intervals (red);
#   2. curl: a browser's Accept or ?format=html gives the page
#      (text/html; charset=utf-8, Cache-Control: no-store, Vary: Accept);
#      curl's */* and ?format=json give JSON; ?check= stays text; the page
#      says "Desactualizado", carries the refresh URL with the totals, and
#      "—" for requests per minute; after 30 requests the refresh URL's page
#      says exactly (r2 - r1) * 60000 / (t2 - t1);
#   3. chromium --dump-dom (the page chosen by chromium's own Accept): the
#      state, the SVG with 2 corte marks, 1 refusal mark, 1 stale period;
#      the hostile name is text, not markup;
#   4. chromium --screenshot 1280x1000: the PNG (decoded with zlib/struct)
#      is not blank, shows the red of the state, and inside the chart the
#      colours of the corte marks, the refusal mark and the stale shade.
#
# Installs chromium with apt-get when missing (we are root).  Needs root
# (skips otherwise).  About 40 s.
#
#   tests/dashboard.sh [TOP]
#
# Environment: PREP_TEST_USER (prepci), PREP_TEST_LOADER (prep),
# PREP_TEST_UPLOADER (prepup), PREP_SO, PREP_TEST_KEEP=1 keeps the work
# directory (a failed run keeps it anyway).
set -uo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
GEN="$TOP/tests/genpackage.py"
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup dashboard || exit 0
T0=$SECONDS
FEED=qro
C="$W/server"
PKG="$W/pkg"

root_test_report dashboard
dump() {
    dump_server
}

# ---------------------------------------------------------------- chromium
chromium_setup

# ---------------------------------------------------------------- 1. the night
mkdir -p "$C/logs" "$C/run" "$PKG"
chmod 755 "$C" "$C/run" "$PKG"
accounts_setup "$C"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
EXTRA_FEED_CONF="    PrepUpdateInterval 2s" write_server_conf "$C" "$PORT" "$FEED"
start_server "$C" "$PORT"


make_package PREP_QRO_2105.tar.gz 2024-06-02T21:05:00-06:00 1
make_package PREP_QRO_2110.tar.gz 2024-06-02T21:10:00-06:00 2
HOSTILE="PREP_<b>&x\"'_2107.tar.gz"
# older than the corte served: refused at once as older-corte
make_package "$HOSTILE" 2024-06-02T21:00:00-06:00 3

publish PREP_QRO_2105.tar.gz
upload "$HOSTILE"
wait_until 30 journal_has refused || fail "the older package was not refused within 30 s"
publish PREP_QRO_2110.tar.gz
LOADED=$SECONDS
wait_until 20 journal_has stale || fail "no stale line within 20 s"
# red: stale for more than 6 intervals (12 s) since the load
while [ $((SECONDS - LOADED)) -lt 14 ]; do sleep 0.5; done
[ "$(st 'f.get("state")')" = stale ] || fail "the feed is $(st 'f.get("state")'), not stale"
log "the night is set ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------- 2. curl
BROWSER_ACCEPT='text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
headers_of() { curl -s --max-time 10 -o "$2" -D - "${@:3}" "$BASE$1" | tr -d '\r'; }
H=$(headers_of /prep-status "$W/page1.html" -H "Accept: $BROWSER_ACCEPT")
grep -qi '^Content-Type: text/html; charset=utf-8$' <<<"$H" || bad "browser Accept: not text/html: $(grep -i '^content-type' <<<"$H")"
grep -qi '^Cache-Control: no-store$' <<<"$H" || bad "the page is not Cache-Control: no-store"
grep -qi '^Vary: .*Accept' <<<"$H" || bad "no Vary: Accept"
H=$(headers_of /prep-status "$W/curl.json")
grep -qi '^Content-Type: application/json' <<<"$H" || bad "curl's */*: not JSON: $(grep -i '^content-type' <<<"$H")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/curl.json" || bad "curl's */*: the answer is not JSON"
H=$(headers_of '/prep-status?format=json' /dev/null -H "Accept: $BROWSER_ACCEPT")
grep -qi '^Content-Type: application/json' <<<"$H" || bad "?format=json with a browser's Accept: not JSON"
H=$(headers_of '/prep-status?format=html' "$W/format.html")
grep -qi '^Content-Type: text/html; charset=utf-8$' <<<"$H" || bad "?format=html: not text/html"
H=$(headers_of "/prep-status?check=$FEED" /dev/null -H "Accept: $BROWSER_ACCEPT")
grep -qi '^Content-Type: text/plain' <<<"$H" || bad "?check= with a browser's Accept: not the text answer"
grep -q '^HTTP/1.1 503' <<<"$H" || bad "?check= of a stale feed: not 503"
curl -s -o /dev/null -w '%{http_code}' "$BASE/prep-status?format=htm" | grep -q 400 || bad "?format=htm: not 400"

grep -q '<html lang="es">' "$W/page1.html" || bad "the page is not lang=es"
grep -q '<span class="estado-texto">Desactualizado</span>' "$W/page1.html" || bad "the page does not say Desactualizado"
grep -q 'estado-stale estado-stale-grave' "$W/page1.html" || bad "stale for 7 intervals is not red"
grep -q '<dt>Solicitudes por minuto</dt><dd>—</dd>' "$W/page1.html" || bad "the first render does not say — for requests per minute"

# the refresh URL carries the totals; the next render divides
refresh_of() { sed -n 's/.*<meta http-equiv="refresh" content="10; url=\([^"]*\)">.*/\1/p' "$1" | sed 's/&amp;/\&/g'; }
URL1=$(refresh_of "$W/page1.html")
[[ "$URL1" =~ ^\?format=html\&t=([0-9]+)\&r=qro:([0-9]+)$ ]] || bad "refresh URL: '$URL1'"
T1=${BASH_REMATCH[1]:-0} R1=${BASH_REMATCH[2]:-0}
for _ in $(seq 1 30); do curl -s -o /dev/null --max-time 5 "$BASE/prep/$FEED/json/main.json"; done
sleep 1
curl -s --max-time 10 -o "$W/page2.html" "$BASE/prep-status$URL1"
URL2=$(refresh_of "$W/page2.html")
[[ "$URL2" =~ ^\?format=html\&t=([0-9]+)\&r=qro:([0-9]+)$ ]] || bad "second refresh URL: '$URL2'"
T2=${BASH_REMATCH[1]:-0} R2=${BASH_REMATCH[2]:-0}
[ $((R2 - R1)) = 30 ] || bad "30 requests between the renders, the totals say $((R2 - R1))"
WANT=$(python3 -c 'import sys; r=(int(sys.argv[3])-int(sys.argv[1]))*60000/(int(sys.argv[4])-int(sys.argv[2])); print("%.1f" % r if r < 100 else "%.0f" % r)' "$R1" "$T1" "$R2" "$T2" 2>/dev/null)
grep -q "<dt>Solicitudes por minuto</dt><dd>$WANT</dd>" "$W/page2.html" ||
    bad "requests per minute: want $WANT, the page says $(grep -o '<dt>Solicitudes por minuto</dt><dd>[^<]*' "$W/page2.html")"
log "curl: page, JSON, rate $WANT/min ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------- 3. the DOM
browser --dump-dom "$BASE/prep-status" >"$W/dom.html" || bad "chromium --dump-dom failed: $(tail -3 "$W/chromium.err")"
python3 - "$W/dom.html" "$HOSTILE" <<'EOF' || bad "the DOM: see above"
import html, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
hostile = sys.argv[2]
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
need('<html lang="es">' in dom, 'lang="es"')
need('Desactualizado' in dom, 'the state text Desactualizado')
svg = re.findall(r'<svg\b.*?</svg>', dom, re.S)
need(len(svg) == 1, 'one SVG (found %d)' % len(svg))
svg = svg[0] if svg else ''
n = lambda c: len(re.findall(r'<[a-z]+ class="%s"' % c, svg))
need(n('marca-corte') == 2, '2 corte marks (found %d)' % n('marca-corte'))
need(n('marca-rechazo') == 1, '1 refusal mark (found %d)' % n('marca-rechazo'))
need(n('marca-desactualizado') == 1, '1 stale period (found %d)' % n('marca-desactualizado'))
need('older-corte' in svg, 'the refusal reason in the chart')
# the name is shown as text (escaped in the serialized DOM), never markup
need(html.escape(hostile, quote=False) in dom, 'the hostile name shown as text')
need('<b>' not in dom, 'the hostile name became markup')
for b in bad:
    print("dashboard: DOM: " + b)
sys.exit(1 if bad else 0)
EOF
log "chromium --dump-dom checked ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------- 4. the screenshot
rm -f "$W/home/shot.png"
browser --screenshot="$W/home/shot.png" --window-size=1280,1000 "$BASE/prep-status" >/dev/null ||
    bad "chromium --screenshot failed: $(tail -3 "$W/chromium.err")"
python3 - "$W/home/shot.png" <<'EOF' || bad "the screenshot: see above"
import os, sys

sys.path.insert(0, os.environ["PREP_TESTS"])
from prep_png import decode  # noqa: E402

w, h, rows = decode(sys.argv[1])
counts = {}
for row in rows:
    for px in row:
        counts[px] = counts.get(px, 0) + 1
RED_STATE, CORTE, REFUSAL, STALE, CHART_BG = (185, 28, 28), (14, 116, 144), (220, 38, 38), (253, 230, 138), (250, 250, 250)
bad = []
print("dashboard: screenshot %dx%d, %d colours; state red %d px" % (w, h, len(counts), counts.get(RED_STATE, 0)))
if len(counts) < 20 or max(counts.values()) > 0.97 * w * h:
    bad.append('the screenshot is blank')
if counts.get(RED_STATE, 0) < 5000:
    bad.append('the state red (#b91c1c): %d px' % counts.get(RED_STATE, 0))
# inside the chart, not the legend's swatches: the box of the rows and
# columns that are mostly the chart's background
ys = [y for y, row in enumerate(rows) if sum(px == CHART_BG for px in row) > w // 3]
xs = [x for x in range(w) if ys and sum(rows[y][x] == CHART_BG for y in ys) > len(ys) // 3]
if not ys or not xs:
    bad.append('no chart in the screenshot')
else:
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    inside = {}
    for y in range(y0, y1 + 1):
        for px in rows[y][x0:x1 + 1]:
            inside[px] = inside.get(px, 0) + 1
    print("dashboard: chart %dx%d at (%d,%d): corte %d px, refusal %d px, stale %d px" % (
        x1 - x0 + 1, y1 - y0 + 1, x0, y0, inside.get(CORTE, 0), inside.get(REFUSAL, 0), inside.get(STALE, 0)))
    if x1 - x0 < 600 or y1 - y0 < 100:
        bad.append('the chart is %dx%d' % (x1 - x0 + 1, y1 - y0 + 1))
    for name, colour, least in (('corte marks', CORTE, 100), ('the refusal mark', REFUSAL, 40), ('the stale shade', STALE, 300)):
        if inside.get(colour, 0) < least:
            bad.append('%s: %d px of #%02x%02x%02x in the chart' % ((name, inside.get(colour, 0)) + colour))
for b in bad:
    print("dashboard: PNG: " + b)
sys.exit(1 if bad else 0)
EOF
log "chromium --screenshot checked ($((SECONDS - T0)) s)"

root_test_end
