#!/usr/bin/env bash
# tests/privdrop.sh — the loader drops privileges: httpd is started as root
# with `User prepci`, a package is uploaded, and everything the module wrote
# under PrepStore (processed packages included) must belong to prepci, not root.
# The served file must be the package's.  Needs root (skips otherwise).
#
#   tests/privdrop.sh [TOP]     TOP: the built tree (.libs/mod_prep.so)
set -euo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup privdrop || exit 0
mkdir -p "$W/incoming" "$W/store" "$W/logs" "$W/run"
chown "$USER_NAME:$GROUP_NAME" "$W/incoming" "$W/store"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

fail() {
    echo "privdrop: FAIL: $*"
    echo "---- error_log (last 40 lines)"
    tail -40 "$W/logs/error_log" 2>/dev/null || true
    echo "---- files under $W"
    find "$W/store" "$W/incoming" -printf '%u:%g %m %p\n' 2>/dev/null | head -40 || true
    exit 1
}

stop_server() { stop_httpd "$W"; }
cleanup() {
    stop_server
    if [ "${PREP_TEST_KEEP:-0}" = 1 ]; then
        echo "privdrop: kept $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

write_server_conf "$W" "$PORT" priv

"$HTTPD" -t -f "$W/httpd.conf" || fail "httpd -t"
"$HTTPD" -f "$W/httpd.conf" -k start || fail "httpd -k start"
up=0
for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$BASE/prep-status"; then up=1; break; fi
    sleep 0.2
done
[ "$up" = 1 ] || fail "server did not answer on $BASE"
ps -o user=,pid=,args= -C apache2 | sed 's/^/privdrop: process /' || true

python3 "$TOP/tests/genpackage.py" "$W/PREP_QRO_2105.tar.gz" --files 300 --seed 7 \
    --corte 2024-06-02T21:05:00-06:00
# What an SFTP upload by another account looks like: root-owned, 0644.
cp "$W/PREP_QRO_2105.tar.gz" "$W/incoming/PREP_QRO_2105.tar.gz.part"
mv "$W/incoming/PREP_QRO_2105.tar.gz.part" "$W/incoming/PREP_QRO_2105.tar.gz"

corte_id() {
    curl -s "$BASE/prep-status" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for f in d.get("feeds", []):
    if f.get("name") == "priv" and isinstance(f.get("corte"), dict):
        print(f["corte"].get("id") or "")'
}
id=""
for _ in $(seq 1 100); do
    id=$(corte_id)
    [ -n "$id" ] && break
    sleep 0.2
done
[ -n "$id" ] || fail "the package was not published within 20 s"
echo "privdrop: published corte $id"

mkdir -p "$W/ref"
tar -xzf "$W/PREP_QRO_2105.tar.gz" -C "$W/ref"
curl -s -o "$W/main.json" "$BASE/prep/priv/json/main.json"
cmp -s "$W/main.json" "$W/ref/prep_qro/json/main.json" || fail "served json/main.json differs from the package"
curl -s -o "$W/escudo.png" "$BASE/prep/priv/img/escudo.png"
cmp -s "$W/escudo.png" "$W/ref/prep_qro/img/escudo.png" || fail "served img/escudo.png differs from the package"

[ -d "$W/store/cortes/$id" ] || fail "STORE/cortes/$id missing"
not_owned=$(find "$W/store" ! -user "$USER_NAME" -printf '%u %p\n')
[ -z "$not_owned" ] || fail "files under PrepStore not owned by $USER_NAME:
$not_owned"
[ -e "$W/store/processed/PREP_QRO_2105.tar.gz" ] || fail "package not moved to STORE/processed/"
[ ! -e "$W/incoming/processed" ] || fail "INCOMING/processed exists: nothing mod_prep writes may live in incoming"

stop_server
echo "privdrop: OK (store owned by $USER_NAME, served bytes match)"
