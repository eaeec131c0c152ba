#!/usr/bin/env bash
# tests/banner.sh — the built-in banner on a real portal: a page with a
# Bootstrap-style `fixed-top` navbar (position: fixed; top: 0; z-index: 1030;
# 64 px, inline CSS, no network), served by a real httpd (started as root
# with `User USER_NAME` and `PrepUser LOADER_NAME`, tests/root-test.sh) from
# five feeds that differ only in PrepBannerPosition, and rendered by a real
# headless chromium run as the unprivileged USER_NAME at 1280x800 (a
# desktop) and 360x740 (a phone):
#
#   1. httpd -t refuses a bad PrepBannerPosition naming it; curl: each
#      feed's index.html carries the banner with its position's style;
#   2. the screenshots (PNG decoded with zlib/struct), the banner being the
#      only #1d3557 on the page:
#      - static (the default): not one banner pixel: the navbar hides it;
#      - sticky: the banner from row 0, over the navbar;
#      - sticky 64px: the navbar's rows are the navbar's, the banner right
#        below them;
#      - fixed-top: from row 0; fixed-bottom: down to the last row;
#      - at both sizes: white text on the banner (contrast >= 4.5:1);
#   3. what the page measures of itself at the size of the screenshot (a
#      script of the test page, redrawn on resize, writes its numbers as a
#      strip of coloured squares the PNG is read for): no horizontal
#      overflow (scrollWidth = clientWidth = the window's width), the
#      banner's font >= 14 px, its right edge inside the window, wrapped to
#      more lines at 360 px than at 1280; scrolled down 1500 px, the sticky
#      and fixed banners are where they were, the static one scrolled away.
#
# Installs chromium with apt-get when missing (we are root).  Needs root
# (skips otherwise).  About 20 s.
#
#   tests/banner.sh [TOP]
#
# Environment: PREP_TEST_USER (prepci), PREP_TEST_LOADER (prep),
# PREP_TEST_UPLOADER (prepup), PREP_SO, PREP_TEST_KEEP=1 keeps the work
# directory (a failed run keeps it anyway).
set -uo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup banner || exit 0
T0=$SECONDS
C="$W/server"
PKG="$W/pkg"
# feed and its PrepBannerPosition line ("" for none: the default)
FEEDS=(estatico pegado pegado64 arriba abajo)
declare -A POSITION=([estatico]="" [pegado]="sticky" [pegado64]="sticky 64px"
    [arriba]="fixed-top" [abajo]="fixed-bottom")

root_test_report banner
dump() {
    echo "---- error_log (last 20 lines)"
    tail -20 "$C/logs/error_log" 2>/dev/null | cut -c1-300 || true
}

# ---------------------------------------------------------------- chromium
chromium_setup

# ---------------------------------------------------------------- the package
# index.html: a portal whose navbar is fixed at the top (Bootstrap's
# .fixed-top: position fixed, top 0, z-index 1030), its content padded below
# it, long enough to scroll; a script that measures the page and draws its
# numbers at (0,300) as 10x10 squares rgb(n >> 8, n & 255, 165): scrollWidth,
# clientWidth, innerHeight, the banner's font size x 10, then the banner's
# top, bottom and right, and its top and bottom scrolled down 1500 px (each
# + 4000; 3001 when there is no banner), redrawn whenever the window is
# resized (chromium sizes the window for the screenshot after the load).
mkdir -p "$PKG"
python3 - "$PKG/PREP_PORTAL_2105.tar.gz" <<'EOF' || fail "the package cannot be made"
import io, json, sys, tarfile
sections = "".join(
    '<section style="height:300px;border-bottom:1px solid #ccc;padding:8px 16px">'
    '<h2 style="margin:0;font-size:18px">Distrito %d</h2><p>Actas capturadas: %d de 412.</p></section>'
    % (i, 40 * i) for i in range(1, 13))
index = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Resultados - Portal de Noticias</title>
<style>
body{margin:0;font-family:sans-serif;font-size:16px;background:#fff;color:#222}
.navbar{display:flex;align-items:center;justify-content:space-between;padding:0 16px;height:64px;background:#212529;color:#fff}
.fixed-top{position:fixed;top:0;right:0;left:0;z-index:1030}
.navbar a{color:#fff;text-decoration:none;margin-left:12px}
main{padding-top:72px}
</style></head>
<body class="portal">
<nav class="navbar fixed-top"><b>Portal de Noticias</b><span><a href="#">Inicio</a><a href="#">PREP</a></span></nav>
<main>%s</main>
<script>
function medir() {
  var b = document.getElementById("prep-corte"), d = document.documentElement;
  function caja() { return b ? b.getBoundingClientRect() : {top: -999, bottom: -999, right: -999}; }
  var x = window.scrollX, y = window.scrollY, r0, r1, v, s, old;
  window.scrollTo(0, 0); r0 = caja();
  window.scrollTo(0, 1500); r1 = caja();
  window.scrollTo(x, y);
  v = [d.scrollWidth, d.clientWidth, window.innerHeight,
       b ? Math.round(parseFloat(getComputedStyle(b).fontSize) * 10) : 0,
       Math.round(r0.top) + 4000, Math.round(r0.bottom) + 4000, Math.round(r0.right) + 4000,
       Math.round(r1.top) + 4000, Math.round(r1.bottom) + 4000];
  old = document.getElementById("medidas");
  if (old) { old.parentNode.removeChild(old); }
  s = document.createElement("div");
  s.id = "medidas";
  s.style.cssText = "position:absolute;left:0;top:300px;height:10px;display:flex";
  v.forEach(function (n) {
    var c = document.createElement("span");
    c.style.cssText = "display:block;width:10px;height:10px;background:rgb(" + (n >> 8) + "," + (n & 255) + ",165)";
    s.appendChild(c);
  });
  document.body.appendChild(s);
}
medir();
window.addEventListener("resize", medir);
</script>
</body></html>
""" % sections
files = {"index.html": index.encode("utf-8"),
         "json/main.json": json.dumps({"fechaCorte": "2024-06-02T21:05:00-06:00"}).encode()}
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, data in files.items():
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 1717383900
        t.addfile(info, io.BytesIO(data))
EOF
chmod 755 "$PKG"
chmod 644 "$PKG/PREP_PORTAL_2105.tar.gz"

# ---------------------------------------------------------------- the server
mkdir -p "$C/logs" "$C/run"
chmod 755 "$C" "$C/run"
for f in "${FEEDS[@]}"; do
    mkdir -p "$C/$f"
    chmod 755 "$C/$f"
    accounts_setup "$C/$f"
done
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
{
    cat <<EOF
ServerRoot "$C"
DefaultRuntimeDir "$C/run"
PidFile "$C/run/httpd.pid"
ErrorLog "$C/logs/error_log"
LogLevel info
Listen 127.0.0.1:$PORT
ServerName 127.0.0.1
User $USER_NAME
Group $GROUP_NAME
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_host_module $MODULES/mod_authz_host.so
LoadModule prep_module "$SO"
PrepUser $LOADER_NAME
<Location /prep-status>
    SetHandler prep-status
    Require ip 127.0.0.1
</Location>
EOF
    for f in "${FEEDS[@]}"; do
        cat <<EOF
<PrepFeed $f>
    PrepIncoming   $C/$f/incoming
    PrepStore      $C/$f/store
    PrepSettleTime 1
    PrepCorteTime  json json/main.json /fechaCorte
EOF
        [ -z "${POSITION[$f]}" ] || echo "    PrepBannerPosition ${POSITION[$f]}"
        printf '</PrepFeed>\n<Location /prep/%s>\n    SetHandler prep\n    PrepServe %s\n</Location>\n' "$f" "$f"
    done
} >"$C/httpd.conf"

# a position configtest refuses, naming the directive
sed 's/PrepBannerPosition fixed-top/PrepBannerPosition fixed/' "$C/httpd.conf" >"$C/bad.conf"
"$HTTPD" -t -f "$C/bad.conf" >"$C/bad.out" 2>&1 && bad "httpd -t takes PrepBannerPosition fixed"
grep -q 'PrepBannerPosition: use static, sticky, fixed-top or fixed-bottom' "$C/bad.out" ||
    bad "httpd -t of PrepBannerPosition fixed says: $(tr '\n' ' ' <"$C/bad.out" | cut -c1-300)"

"$HTTPD" -t -f "$C/httpd.conf" >"$C/configtest.out" 2>&1 || fail "apache2 -t: $(tr '\n' ' ' <"$C/configtest.out")"
"$HTTPD" -f "$C/httpd.conf" -k start || fail "httpd -k start"
wait_until 20 curl -s -o /dev/null --max-time 2 "$BASE/prep-status" || fail "the server did not answer on $BASE"

for f in "${FEEDS[@]}"; do
    as_uploader cp "$PKG/PREP_PORTAL_2105.tar.gz" "$C/$f/incoming/.PREP_PORTAL_2105.tar.gz.part" ||
        fail "the uploader cannot write $f's INCOMING"
    as_uploader mv "$C/$f/incoming/.PREP_PORTAL_2105.tar.gz.part" "$C/$f/incoming/PREP_PORTAL_2105.tar.gz" ||
        fail "the uploader cannot rename in $f's INCOMING"
done
served() { [ -n "$(feed_status "$BASE" "$1" '(f.get("corte") or {}).get("id")')" ]; }
for f in "${FEEDS[@]}"; do
    wait_until 30 served "$f" || fail "feed $f published nothing within 30 s"
done
log "five feeds serve the portal ($((SECONDS - T0)) s)"

# ---------------------------------------------------------------- 1. curl
declare -A STYLE=([estatico]='style="margin:0;'
    [pegado]='style="position:sticky;top:0;z-index:2147483000;margin:0;'
    [pegado64]='style="position:sticky;top:64px;z-index:2147483000;margin:0;'
    [arriba]='style="position:fixed;top:0;left:0;right:0;z-index:2147483000;margin:0;'
    [abajo]='style="position:fixed;bottom:0;left:0;right:0;z-index:2147483000;margin:0;')
for f in "${FEEDS[@]}"; do
    curl -s --max-time 10 -o "$W/$f.html" "$BASE/prep/$f/index.html"
    grep -qF "<body class=\"portal\"><div id=\"prep-corte\" role=\"status\" ${STYLE[$f]}" "$W/$f.html" ||
        bad "$f: the banner after <body> is not $f's: $(grep -o '<body[^>]*><div[^>]*>' "$W/$f.html" | head -1)"
done

# ---------------------------------------------------------------- 2, 3. chromium
for f in "${FEEDS[@]}"; do
    for size in 1280,800 360,740; do
        rm -f "$W/home/$f-${size%,*}.png"
        browser --screenshot="$W/home/$f-${size%,*}.png" --window-size="$size" "$BASE/prep/$f/index.html" >/dev/null ||
            bad "chromium --screenshot $f $size failed: $(tail -3 "$W/chromium.err")"
    done
done
log "10 screenshots ($((SECONDS - T0)) s)"

python3 - "$W/home" <<'EOF' || bad "the screenshots: see above"
import os, sys

sys.path.insert(0, os.environ["PREP_TESTS"])
from prep_png import decode  # noqa: E402

def luminance(rgb):
    def lin(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b

def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)

BANNER, NAVBAR, WHITE = (29, 53, 87), (33, 37, 41), (255, 255, 255)
NAV_H = 64
bad = []
lines_at = {}
for feed in ('estatico', 'pegado', 'pegado64', 'arriba', 'abajo'):
    for w_want, h_want in ((1280, 800), (360, 740)):
        name = '%s %dx%d' % (feed, w_want, h_want)
        try:
            w, h, rows = decode(os.path.join(sys.argv[1], '%s-%d.png' % (feed, w_want)))
        except Exception as e:
            bad.append('%s: %s' % (name, e))
            continue
        if (w, h) != (w_want, h_want):
            bad.append('%s: the screenshot is %dx%d' % (name, w, h))
            continue
        # the page's own measures, at the size of the screenshot
        m = []
        for i in range(9):
            px = rows[305][5 + 10 * i]
            m.append(px[0] << 8 | px[1] if px[2] == 165 else None)
        if None in m:
            bad.append('%s: no measures drawn by the page (%r)' % (name, m))
            continue
        sw, cw, ih, fs10 = m[:4]
        top, bottom, right, top_s, bottom_s = (v - 4000 for v in m[4:])
        # the banner's rows: most of the row is its background
        brows = [y for y in range(h) if sum(px == BANNER for px in rows[y]) > w // 2]
        navrows = [y for y in range(NAV_H) if sum(px == NAVBAR for px in rows[y]) > w // 2]
        nbanner = sum(px == BANNER for row in rows for px in row)
        print('banner: %-20s banner rows %s, %d px; navbar rows %d/%d; page %d/%d/%d, font %.1fpx, '
              'banner %d..%d right %d, scrolled %d..%d' % (
                  name, '%d..%d' % (brows[0], brows[-1]) if brows else 'none', nbanner,
                  len(navrows), NAV_H, sw, cw, ih, fs10 / 10, top, bottom, right, top_s, bottom_s))
        # legible on every screen, the phone too
        if not (sw == cw == w):
            bad.append('%s: horizontal overflow: scrollWidth %d, clientWidth %d, window %d' % (name, sw, cw, w))
        if fs10 < 140:
            bad.append('%s: the banner font is %.1fpx (< 14px)' % (name, fs10 / 10))
        if right > w or right < w - 1:
            bad.append('%s: the banner ends at x=%d in a window %d wide' % (name, right, w))
        lines_at.setdefault(feed, {})[w] = bottom - top
        if feed == 'estatico':
            # the default: under the navbar, not one pixel seen
            if nbanner:
                bad.append('%s: %d banner pixels seen: the navbar does not hide the static banner' % (name, nbanner))
            if len(navrows) != NAV_H:
                bad.append('%s: the navbar covers %d of its %d rows' % (name, len(navrows), NAV_H))
            if top != 0 or bottom > NAV_H:
                bad.append('%s: the static banner is at %d..%d, not under the navbar' % (name, top, bottom))
            if top_s > -1000:
                bad.append('%s: the static banner did not scroll away (top %d)' % (name, top_s))
            continue
        if not brows:
            bad.append('%s: the banner is not in the screenshot' % name)
            continue
        want_top = {'pegado': 0, 'pegado64': NAV_H, 'arriba': 0, 'abajo': h - (bottom - top)}[feed]
        if brows[0] != want_top or top != want_top:
            bad.append('%s: the banner starts at row %d (page: %d), want %d' % (name, brows[0], top, want_top))
        if brows[-1] != bottom - 1:
            bad.append('%s: the banner rows end at %d, the page says %d' % (name, brows[-1], bottom))
        if feed == 'abajo' and (brows[-1] != h - 1 or bottom != ih):
            bad.append('%s: the banner is not at the bottom (rows end %d, window %d)' % (name, brows[-1], h))
        if feed == 'pegado64' and len(navrows) != NAV_H:
            bad.append('%s: the banner below the navbar covers it (%d of %d rows)' % (name, len(navrows), NAV_H))
        if (top_s, bottom_s) != (top, bottom):
            bad.append('%s: scrolled 1500 px the banner moved from %d..%d to %d..%d' % (name, top, bottom, top_s, bottom_s))
        # its text is white on its background: the contrast of the
        # screenshot's own colours (the row's commonest, the text's
        # brightest) at least WCAG AA's 4.5:1
        inside = [px for y in brows for px in rows[y]]
        white = sum(px == WHITE for px in inside)
        counts = {}
        for px in inside:
            counts[px] = counts.get(px, 0) + 1
        ground = max(counts, key=counts.get)
        ink = max(inside, key=luminance)
        if white < 150:
            bad.append('%s: %d white text pixels on the banner' % (name, white))
        if contrast(ground, ink) < 4.5:
            bad.append('%s: contrast %.1f:1 (%r on %r)' % (name, contrast(ground, ink), ink, ground))
for feed, heights in lines_at.items():
    if len(heights) == 2 and not heights[360] > heights[1280]:
        bad.append('%s: at 360 px the banner is %d px high, at 1280 %d: it did not wrap' % (feed, heights[360], heights[1280]))
for b in bad:
    print('banner: PNG: ' + b)
sys.exit(1 if bad else 0)
EOF
log "screenshots checked ($((SECONDS - T0)) s)"

root_test_end
