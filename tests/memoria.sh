#!/usr/bin/env bash
# tests/memoria.sh — the memoria técnica (prepctl report) rendered by a
# real headless chromium, on screen and printed to PDF, from a night of a
# real httpd (started as root with `User USER_NAME` and `PrepUser
# LOADER_NAME`, tests/root-test.sh):
#
#   1. a feed "qro" with PrepUpdateInterval 2s and an access log in the
#      docs' prep_combined format publishes a corte, refuses an older
#      package, gets requests from two visitors, Googlebot and a monitor,
#      goes stale, publishes a second corte and gets more requests;
#   2. the built prepctl makes the memoria from the module's journal and the
#      log: `report qro --log LOG --out DIR --difusor NAME --notes FILE`
#      writes memoria.html, memoria.json and the CSV files;
#   3. chromium --screenshot --window-size=1200,2000 of memoria.html (run
#      as the unprivileged USER_NAME): the PNG, decoded with zlib and
#      struct, is not blank: it differs from the screenshot of an empty
#      page, has at least 16 colours, and at least 2 % of its pixels are
#      not the background (the share is printed);
#   4. chromium --print-to-pdf: pdfinfo says every page is A4 (595 x 842
#      pts, the page's own print stylesheet: chromium is given no paper
#      size), the first page rendered by pdftoppm is not blank, and
#      pdftotext finds "Memoria técnica", "Reporte de incidencias",
#      "Criterios de mejora", the difusor's name and the text of --notes.
#
# Installs chromium and poppler-utils with apt-get when missing (we are
# root).  Needs root (skips otherwise).  About 30 s.
#
#   tests/memoria.sh [TOP]
#
# Environment: PREP_TEST_USER (prepci), PREP_TEST_LOADER (prep),
# PREP_TEST_UPLOADER (prepup), PREP_SO, PREP_TEST_KEEP=1 keeps the work
# directory (a failed run keeps it anyway).
set -uo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
GEN="$TOP/tests/genpackage.py"
PREPCTL="$TOP/prepctl"
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup memoria || exit 0
T0=$SECONDS
FEED=qro
C="$W/server"
PKG="$W/pkg"
OUT="$W/home/memoria"
DIFUSOR="Difusora Querétaro Digital, S.A. de C.V."
NOTES_TEXT="Contratar un segundo enlace de salida con otro proveedor antes del próximo proceso electoral."

root_test_report memoria
dump() {
    dump_server
    echo "---- chromium (last 5 lines)"
    tail -5 "$W/chromium.err" 2>/dev/null | cut -c1-300 || true
}

[ -x "$PREPCTL" ] || fail "$PREPCTL is not built"

# ---------------------------------------------------------------- chromium, poppler-utils
chromium_setup
need_package pdfinfo poppler-utils
for cmd in pdftotext pdftoppm; do command -v "$cmd" >/dev/null || fail "$cmd missing (poppler-utils)"; done

# ---------------------------------------------------------------- 1. the night
mkdir -p "$C/logs" "$C/run" "$PKG"
chmod 755 "$C" "$C/run" "$PKG"
accounts_setup "$C"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
EXTRA_FEED_CONF='    PrepUpdateInterval 2s
    PrepTimeZone -06:00 "Tiempo del Centro"' write_server_conf "$C" "$PORT" "$FEED"
# the access log as the docs recommend (conf/prep-behind-cache.conf)
cat >>"$C/httpd.conf" <<EOF
LogFormat "%a %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" prep_combined
CustomLog "$C/logs/access.log" prep_combined
EOF
start_server "$C" "$PORT"

PUBLISH_PAUSE=1.1 # the log's times are whole seconds
FIREFOX='Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0'
IPHONE='Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
GOOGLEBOT='Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
get() { curl -s -o /dev/null --max-time 5 -A "$1" "${@:3}" "$BASE/prep/$FEED$2"; }
burst() {
    get "$FIREFOX" /
    get "$FIREFOX" /index.html
    get "$FIREFOX" /json/main.json
    get "$FIREFOX" /no-existe.html
    get "$IPHONE" /presidencia.html
    get "$IPHONE" /distritos/
    get "$IPHONE" /json/main.json
    get "$GOOGLEBOT" /ayuntamientos.html
    get 'check_http/v2.3.3 (monitoring-plugins 2.3.3)' /json/main.json
    curl -s -o /dev/null --max-time 5 "$BASE/prep-status?check=$FEED"
}

make_package PREP_QRO_2105.tar.gz 2024-06-02T21:05:00-06:00 1
make_package PREP_QRO_2110.tar.gz 2024-06-02T21:10:00-06:00 1
make_package PREP_QRO_2100.tar.gz 2024-06-02T21:00:00-06:00 2

publish PREP_QRO_2105.tar.gz
burst
upload PREP_QRO_2100.tar.gz
wait_until 30 journal_has refused || fail "the older package was not refused within 30 s"
wait_until 20 journal_has stale || fail "no stale line within 20 s"
publish PREP_QRO_2110.tar.gz
burst
stop_httpd "$C"
LINES=$(wc -l <"$C/logs/access.log")
[ "$LINES" -ge 20 ] || fail "the access log has $LINES lines, not 20"
log "the night is set: $LINES requests logged ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------- 2. the memoria
printf '%s\n' "$NOTES_TEXT" >"$W/notas.txt"
"$PREPCTL" report "$FEED" --feeds "$C/run/mod_prep-feeds.json" --log "$C/logs/access.log" \
    --out "$OUT" --format html,csv,json --difusor "$DIFUSOR" --notes "$W/notas.txt" \
    >"$W/report.out" 2>"$W/report.err" ||
    fail "prepctl report failed: $(tr '\n' ' ' <"$W/report.err")"
for f in memoria.html memoria.json resumen.csv incidencias.csv; do
    [ -s "$OUT/$f" ] || bad "prepctl report did not write $f"
done
python3 - "$OUT/memoria.json" <<'EOF' || bad "memoria.json: see above"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
s, kinds = d["summary"], [i["kind"] for i in d["night"]["incidents"]]
bad = []
if not s.get("hits") or s["hits"] < 18:
    bad.append("hits %r" % s.get("hits"))
if s.get("visitors") != 2:
    bad.append("visitors %r, not 2" % s.get("visitors"))
if "refusal" not in kinds or "stale" not in kinds:
    bad.append("incidents %r: no refusal or no stale" % kinds)
for b in bad:
    print("memoria: memoria.json: " + b)
sys.exit(1 if bad else 0)
EOF
chown -R "$USER_NAME:$GROUP_NAME" "$OUT"
log "prepctl report: $(grep -c '^written:' "$W/report.out") files ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------- 3. the screenshot
# an empty page's screenshot: what "blank" looks like in this chromium
printf '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body></body></html>\n' >"$W/home/blank.html"
chown "$USER_NAME:$GROUP_NAME" "$W/home/blank.html"
rm -f "$W/home/shot.png" "$W/home/blank.png"
browser --screenshot="$W/home/blank.png" --window-size=1200,2000 "file://$W/home/blank.html" >/dev/null ||
    bad "chromium --screenshot of an empty page failed"
browser --screenshot="$W/home/shot.png" --window-size=1200,2000 "file://$OUT/memoria.html" >/dev/null ||
    bad "chromium --screenshot failed"

# not_blank.py PNG [BLANK_PNG]: decodes 8-bit RGB(A) PNGs with zlib and
# struct; fails when the image is one colour or nearly so, or the same as
# the blank one.
cat >"$W/not_blank.py" <<'EOF'
import os, sys

sys.path.insert(0, os.environ["PREP_TESTS"])
from prep_png import decode  # noqa: E402


def rows_of(path):
    """The PNG's size and its rows of pixels, each row as bytes (RGB)."""
    w, h, rows = decode(path)
    return w, h, [bytes(c for px in row for c in px) for row in rows]

name = sys.argv[1].rsplit("/", 1)[-1]
w, h, rows = rows_of(sys.argv[1])
counts, last, last_counts = {}, None, {}
for row in rows:
    if row != last:
        last, last_counts = row, {}
        for x in range(0, len(row), 3):
            px = row[x:x + 3]
            last_counts[px] = last_counts.get(px, 0) + 1
    for px, c in last_counts.items():
        counts[px] = counts.get(px, 0) + c
background, most = max(counts.items(), key=lambda kv: kv[1])
ink = w * h - most
print("memoria: %s: %dx%d, %d colours, %.2f %% of the pixels not the background #%s"
      % (name, w, h, len(counts), 100.0 * ink / (w * h), background.hex()))
bad = []
if len(counts) < 16:
    bad.append("%d colours (fewer than 16)" % len(counts))
# a line of text at least (an empty page is 0 %; the page with only its
# title is ~0.2 %, a real memoria far more)
if ink < 0.02 * w * h:
    bad.append("%.3f %% of the pixels are not the background (less than 2 %%)" % (100.0 * ink / (w * h)))
if len(sys.argv) > 2:
    bw, bh, brows = rows_of(sys.argv[2])
    if (bw, bh) == (w, h) and brows == rows:
        bad.append("the same as the screenshot of an empty page")
for b in bad:
    print("memoria: %s: blank: %s" % (name, b))
sys.exit(1 if bad else 0)
EOF
if [ -s "$W/home/shot.png" ] && [ -s "$W/home/blank.png" ]; then
    python3 "$W/not_blank.py" "$W/home/shot.png" "$W/home/blank.png" || bad "the screenshot of memoria.html is blank"
else
    bad "no screenshot"
fi
log "chromium --screenshot checked ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------- 4. the PDF
rm -f "$W/home/memoria.pdf"
browser --print-to-pdf="$W/home/memoria.pdf" --no-pdf-header-footer "file://$OUT/memoria.html" >/dev/null ||
    bad "chromium --print-to-pdf failed"
if [ -s "$W/home/memoria.pdf" ]; then
    pdfinfo "$W/home/memoria.pdf" >"$W/pdfinfo.txt" 2>&1 || bad "pdfinfo cannot read the PDF: $(tail -1 "$W/pdfinfo.txt")"
    PAGES=$(sed -n 's/^Pages: *//p' "$W/pdfinfo.txt")
    pdfinfo -f 1 -l "${PAGES:-1}" "$W/home/memoria.pdf" >"$W/pdfinfo-pages.txt" 2>&1
    log "PDF: ${PAGES:-?} page(s), $(sed -n 's/^Page size: *//p' "$W/pdfinfo.txt")"
    # every page A4: 595.276 x 841.89 pts, allowing for rounding
    python3 - "$W/pdfinfo-pages.txt" <<'EOF' || bad "the PDF is not A4 (the page's print stylesheet)"
import re, sys
sizes = re.findall(r"^Page +\d+ size: +([\d.]+) x ([\d.]+) pts", open(sys.argv[1]).read(), re.M)
wrong = [(w, h) for w, h in sizes if not (594 <= float(w) <= 597 and 841 <= float(h) <= 843)]
if not sizes or wrong:
    print("memoria: PDF page sizes %s, not A4 (595 x 842 pts)" % (sorted(set(sizes)) or "unknown"))
    sys.exit(1)
EOF
    pdftoppm -f 1 -l 1 -r 50 -singlefile -png "$W/home/memoria.pdf" "$W/page1" >/dev/null 2>&1
    PAGE1="$W/page1.png"
    if [ -s "$PAGE1" ]; then
        python3 "$W/not_blank.py" "$PAGE1" || bad "the first page of the PDF is blank"
    else
        bad "pdftoppm rendered no page"
    fi
    pdftotext -enc UTF-8 "$W/home/memoria.pdf" "$W/memoria.txt" || bad "pdftotext failed"
    python3 - "$W/memoria.txt" "$DIFUSOR" "$NOTES_TEXT" <<'EOF' || bad "the PDF's text: see above"
import sys
# lines and spaces as the PDF breaks them do not count
text = " ".join(open(sys.argv[1], encoding="utf-8").read().split())
bad = []
for want in ("Memoria técnica", "Reporte de incidencias", "Criterios de mejora", sys.argv[2], sys.argv[3]):
    if " ".join(want.split()) not in text:
        bad.append(want)
for b in bad:
    print("memoria: the PDF's text lacks %r" % b)
sys.exit(1 if bad else 0)
EOF
else
    bad "no PDF written"
fi
log "chromium --print-to-pdf checked ($((SECONDS - T0)) s)"

root_test_end
