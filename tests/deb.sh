#!/usr/bin/env bash
# tests/deb.sh — the Debian package, built, installed on this machine,
# serving a feed through the system Apache, and removed:
#
#   1. make deb (dpkg-buildpackage in a clean copy), lintian on the .deb:
#      no E: line (W: lines are printed);
#   2. apt-get install ./libapache2-mod-prep_*.deb: the files (dpkg -L: the
#      .so without a .la, prepctl, the man pages, docs in English and
#      Spanish, contrib/, the conffiles prep.load and prep.conf, prepctl's
#      Spanish catalogue), man -w, prepctl --help in Spanish and English;
#   3. installed, the module is enabled (debian/README.Debian says why) and
#      harmless with no feed: configtest passes, the system Apache starts
#      with prep_module loaded, mod_prep-feeds.json lists no feed, no
#      process runs as the loader account, /prep-status is not answered;
#   4. a2enmod prep, a feed in a conf-available file of its own (incoming
#      and store under a temporary directory, PrepUser an account this test
#      creates), configtest, apache2ctl start, a package from
#      tests/genpackage.py dropped into PrepIncoming, until curl shows its
#      corte in X-PREP-Corte and serves its json/main.json;
#   5. apache2ctl stop, a2dismod prep (configtest still passes), apt-get
#      remove (with the module enabled again: remove disables it; the
#      module and prepctl gone, the conffiles kept), apt-get purge (dpkg
#      knows nothing of it, mods-available/prep.* gone).
#
# The system Apache listens on 127.0.0.1:PORT only while the test runs
# (ports.conf is backed up and restored), logs its errors under the
# temporary directory, and is left as found: stopped, or started again if
# it was running.  Everything the test changes is restored by its EXIT
# trap: ports.conf, its conf-available file, the account it created, and
# any mod_prep files a `make install` had put where the package goes.
# Needs root and Debian (skips otherwise).
#
#   tests/deb.sh [TOP]     TOP: a configured tree (make deb runs there)
set -euo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
# intake_of (the intake process of the httpd whose parent is PID)
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
PKG=libapache2-mod-prep
LOADER=prepdeb
FEED=debtest
CONFNAME=prep-debtest
AP=/etc/apache2
MODDIR=/usr/lib/apache2/modules

if [ "$(id -u)" != 0 ]; then
    echo "deb: not root, skipped"
    exit 0
fi
if ! command -v dpkg-buildpackage >/dev/null || ! command -v apache2ctl >/dev/null; then
    echo "deb: no dpkg-buildpackage or apache2ctl (not Debian?), skipped"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# envvars reads variables it may not find set
set +u
# shellcheck disable=SC1091
. "$AP/envvars"
set -u
RUNDIR=${APACHE_RUN_DIR:-/run/apache2}
PIDFILE=${APACHE_PID_FILE:-/run/apache2/apache2.pid}

W=$(mktemp -d /tmp/prep-deb.XXXXXX)
chmod 755 "$W"
mkdir -p "$W/backup" "$W/logs"
T0=$SECONDS
declare -a TIMINGS=()
mark() { TIMINGS+=("$1: $((SECONDS - T0)) s"); T0=$SECONDS; }

fail() {
    echo "deb: FAIL: $*"
    if [ -s "$W/logs/error.log" ]; then
        echo "---- error.log (last 30 lines)"
        tail -30 "$W/logs/error.log"
    fi
    exit 1
}

system_apache_pid() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

# apache2ctl stop, then wait (bounded) for the parent and for anything
# still running as the loader account (the intake and its loaders lead
# process groups of their own); what is left is killed by its pid.
stop_system_apache() {
    local pid p
    pid=$(system_apache_pid)
    [ -n "$pid" ] || return 0
    apache2ctl stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    if id "$LOADER" >/dev/null 2>&1; then
        for _ in $(seq 1 50); do
            pgrep -u "$LOADER" >/dev/null || break
            sleep 0.1
        done
        for p in $(pgrep -u "$LOADER" || true); do kill -KILL "$p" 2>/dev/null || true; done
    fi
    return 0
}

# ---------------------------------------------------------------- state before
[ -z "$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -v 'not-installed' || true)" ] \
    || fail "$PKG is installed (or its conffiles are) already: purge it before this test"
WAS_RUNNING=0
if [ -n "$(system_apache_pid)" ]; then
    WAS_RUNNING=1
    echo "deb: the system Apache is running: stopped for the test, started again after it"
    apachectl_out=$(apache2ctl stop 2>&1) || echo "$apachectl_out"
    for _ in $(seq 1 100); do [ -z "$(system_apache_pid)" ] && break; sleep 0.1; done
    [ -z "$(system_apache_pid)" ] || fail "could not stop the system Apache"
fi
cp -p "$AP/ports.conf" "$W/backup/ports.conf"
# what a `make install` and the old README's instructions may have left
# where the package goes: set aside, put back at the end
declare -a SET_ASIDE=()
for f in "$MODDIR/mod_prep.so" "$MODDIR/mod_prep.la" "$AP/mods-available/prep.load" \
    "$AP/mods-available/prep.conf" "$AP/mods-enabled/prep.load" "$AP/mods-enabled/prep.conf" \
    "$RUNDIR/mod_prep-feeds.json"; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        mkdir -p "$W/backup$(dirname "$f")"
        mv "$f" "$W/backup$f"
        SET_ASIDE+=("$f")
    fi
done
CREATED_LOADER=0
DEB=""

cleanup() {
    local rc=$? f
    set +e
    stop_system_apache
    [ -e "$AP/conf-enabled/$CONFNAME.conf" ] && a2disconf -q -p "$CONFNAME" >/dev/null
    rm -f "$AP/conf-available/$CONFNAME.conf"
    if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed'; then
        dpkg --purge "$PKG" >"$W/logs/cleanup-purge.log" 2>&1 || cat "$W/logs/cleanup-purge.log"
    fi
    cp -p "$W/backup/ports.conf" "$AP/ports.conf"
    rm -f "$RUNDIR/mod_prep-feeds.json"
    for f in "${SET_ASIDE[@]}"; do mv "$W/backup$f" "$f"; done
    [ "$CREATED_LOADER" = 1 ] && userdel "$LOADER" 2>/dev/null
    if [ "$WAS_RUNNING" = 1 ]; then apache2ctl start || echo "deb: could not start the system Apache again"; fi
    if [ "${PREP_TEST_KEEP:-0}" = 1 ]; then echo "deb: kept $W"; else rm -rf "$W"; fi
    echo "deb: timings: ${TIMINGS[*]}"
    exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------- 1. build, lintian
(cd "$TOP" && make deb) >"$W/logs/make-deb.log" 2>&1 || { tail -40 "$W/logs/make-deb.log"; fail "make deb"; }
DEB=$(sed -n 's|^built \./||p' "$W/logs/make-deb.log" | tail -1)
if [ -z "$DEB" ] || [ ! -s "$TOP/$DEB" ]; then fail "make deb did not say which .deb it built"; fi
case "$DEB" in "${PKG}_"*"_$(dpkg --print-architecture).deb") ;; *) fail "unexpected name $DEB" ;; esac
cp "$TOP/$DEB" "$W/$DEB"
chmod 644 "$W/$DEB"
echo "deb: built $DEB"
mark "make deb"

# lintian refuses nothing as root but says it is not recommended: it reads
# the package as nobody
setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$W" TMPDIR=/tmp \
    lintian --pedantic "$W/$DEB" >"$W/logs/lintian.log" 2>&1 || true
grep -E '^[EW]: ' "$W/logs/lintian.log" | sed 's/^/deb: lintian: /' || true
if grep -q '^E: ' "$W/logs/lintian.log"; then fail "lintian reports errors"; fi
# lintian ran at all: it names no tag for a clean package, so check that it
# did not stop on an error of its own
if grep -vE '^[EWIPNOX]: |^$' "$W/logs/lintian.log" | grep -q .; then
    cat "$W/logs/lintian.log"
    fail "lintian did not run cleanly"
fi
mark "lintian"

# ---------------------------------------------------------------- 2. install, files
apt-get install -y "$W/$DEB" </dev/null >"$W/logs/install.log" 2>&1 \
    || { cat "$W/logs/install.log"; fail "apt-get install ./$DEB"; }
dpkg-query -W -f='${Status}\n' "$PKG" | grep -q 'install ok installed' || fail "$PKG not installed"
dpkg -L "$PKG" >"$W/files"
for f in "$MODDIR/mod_prep.so" /usr/bin/prepctl "$AP/mods-available/prep.load" \
    "$AP/mods-available/prep.conf" /usr/share/man/man1/prepctl.1.gz /usr/share/man/man8/mod_prep.8.gz \
    /usr/share/doc/$PKG/README.md /usr/share/doc/$PKG/README.Debian /usr/share/doc/$PKG/copyright \
    /usr/share/doc/$PKG/docs/operations.md /usr/share/doc/$PKG/docs/directives.md \
    /usr/share/doc/$PKG/docs/es/README.md /usr/share/doc/$PKG/examples/prep.conf; do
    grep -qxF "$f" "$W/files" || fail "dpkg -L $PKG does not list $f"
    [ -e "$f" ] || fail "$f is listed but missing"
done
# every page of docs/ and docs/es/ of the tree, in English and Spanish
for f in "$TOP"/docs/*.md "$TOP"/docs/es/*.md; do
    rel=${f#"$TOP"/}
    grep -qxF "/usr/share/doc/$PKG/$rel" "$W/files" || fail "the package lacks $rel"
done
for f in "$TOP"/contrib/prep-*; do
    [ -x "/usr/share/mod_prep/contrib/${f##*/}" ] || fail "the package lacks contrib/${f##*/} (executable)"
done
if grep -E '\.la$' "$W/files"; then fail "the package holds a libtool archive"; fi
[ "$(dpkg-query -W -f='${Conffiles}' "$PKG" | awk 'NF {print $1}' | sort | tr '\n' ' ')" \
    = "$AP/mods-available/prep.conf $AP/mods-available/prep.load " ] \
    || fail "the conffiles are not mods-available/prep.conf and prep.load"
grep -qx "LoadModule prep_module $MODDIR/mod_prep.so" "$AP/mods-available/prep.load" \
    || fail "prep.load does not load $MODDIR/mod_prep.so"
# prep.conf configures nothing but the log format: every other line is a comment
if grep -vE '^[[:space:]]*(#|$)' "$AP/mods-available/prep.conf" | grep -v '^LogFormat .* prep_combined$'; then
    fail "mods-available/prep.conf has active lines besides the prep_combined LogFormat"
fi
dpkg-query -W -f='${Depends}\n' "$PKG" | grep -q 'apache2-api-[0-9]\{8\}' \
    || fail "Depends lacks apache2-api-YYYYMMDD"
man -w prepctl >/dev/null || fail "man -w prepctl"
man -w 8 mod_prep >/dev/null || fail "man -w 8 mod_prep"
/usr/bin/prepctl --version | grep -q "^prepctl $(dpkg-query -W -f='${Version}' "$PKG")$" \
    || fail "/usr/bin/prepctl --version is not the package's version"
# prepctl speaks Spanish from the package's catalogue, English otherwise
mo=/usr/share/locale/es/LC_MESSAGES/mod_prep.mo
grep -qxF "$mo" "$W/files" || fail "the package lacks the Spanish catalogue $mo"
# (the output kept whole first: grep -q would leave prepctl a closed pipe)
help=$(env -u PREPCTL_LOCALEDIR -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 LANGUAGE=es /usr/bin/prepctl --help)
grep -q '^SINOPSIS' <<<"$help" || fail "/usr/bin/prepctl --help is not in Spanish under LANGUAGE=es"
help=$(env -u PREPCTL_LOCALEDIR -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=C.UTF-8 /usr/bin/prepctl --help)
grep -q '^SYNOPSIS' <<<"$help" || fail "/usr/bin/prepctl --help is not in English under C.UTF-8"
mark "install and files"

# ---------------------------------------------------------------- 3. enabled, harmless without a feed
a2query -q -m prep || fail "the module is not enabled on install (debian/README.Debian says it is)"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
printf '# tests/deb.sh: 127.0.0.1 only, for the test (restored after it)\nListen 127.0.0.1:%s\n' "$PORT" >"$AP/ports.conf"
# the test's own file: only where errors go, until step 4 adds the feed
printf 'ServerName 127.0.0.1\nErrorLog %s/logs/error.log\n' "$W" >"$AP/conf-available/$CONFNAME.conf"
a2enconf -q "$CONFNAME" >/dev/null
apache2ctl configtest >"$W/logs/configtest0.log" 2>&1 || { cat "$W/logs/configtest0.log"; fail "configtest with the module and no feed"; }
apache2ctl start >"$W/logs/start0.log" 2>&1 || { cat "$W/logs/start0.log"; fail "apache2ctl start with no feed"; }
up=0
for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 2 "$BASE/"; then up=1; break; fi
    sleep 0.1
done
[ "$up" = 1 ] || fail "the system Apache does not answer on $BASE"
modules=$(apache2ctl -M 2>/dev/null)
grep -q 'prep_module' <<<"$modules" || fail "prep_module is not loaded"
for _ in $(seq 1 50); do [ -s "$RUNDIR/mod_prep-feeds.json" ] && break; sleep 0.1; done
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d["feeds"] == [] else 1)' \
    "$RUNDIR/mod_prep-feeds.json" || fail "$RUNDIR/mod_prep-feeds.json does not list zero feeds"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/prep-status")
[ "$code" = 404 ] || fail "with no feed, /prep-status answered $code, not 404"
if grep -E 'PREP[0-9]+' "$W/logs/error.log"; then fail "mod_prep logged something with no feed"; fi
[ -z "$(intake_of "$(system_apache_pid)")" ] || fail "with no feed, mod_prep started an intake process"
stop_system_apache
mark "harmless without a feed"

# ---------------------------------------------------------------- 4. a feed through the system Apache
a2enmod prep >"$W/logs/a2enmod.log" 2>&1 || { cat "$W/logs/a2enmod.log"; fail "a2enmod prep"; }
if ! id "$LOADER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$LOADER"
    CREATED_LOADER=1
fi
mkdir -p "$W/$FEED/incoming" "$W/$FEED/store"
chown "$LOADER:$LOADER" "$W/$FEED/incoming" "$W/$FEED/store"
chmod 1770 "$W/$FEED/incoming"
chmod 0755 "$W/$FEED" "$W/$FEED/store"
cat >>"$AP/conf-available/$CONFNAME.conf" <<EOF
LogLevel warn prep:notice
PrepUser $LOADER
<PrepFeed $FEED>
    PrepIncoming   $W/$FEED/incoming
    PrepStore      $W/$FEED/store
    PrepSettleTime 1
    PrepCorteTime  json json/main.json /fechaCorte
</PrepFeed>
<Location /prep/$FEED>
    SetHandler prep
    PrepServe  $FEED
</Location>
<Location /prep-status>
    SetHandler prep-status
    Require ip 127.0.0.1
</Location>
EOF
apache2ctl configtest >"$W/logs/configtest.log" 2>&1 || { cat "$W/logs/configtest.log"; fail "configtest with the feed"; }
apache2ctl start >"$W/logs/start.log" 2>&1 || { cat "$W/logs/start.log"; fail "apache2ctl start with the feed"; }
up=0
for _ in $(seq 1 100); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/prep-status")" = 200 ]; then up=1; break; fi
    sleep 0.1
done
[ "$up" = 1 ] || fail "$BASE/prep-status does not answer 200"
CORTE=2024-06-02T21:05:00-06:00
python3 "$TOP/tests/genpackage.py" "$W/PREP_DEB_2105.tar.gz" --files 60 --seed 14 --corte "$CORTE" >/dev/null
cp "$W/PREP_DEB_2105.tar.gz" "$W/$FEED/incoming/PREP_DEB_2105.tar.gz.part"
mv "$W/$FEED/incoming/PREP_DEB_2105.tar.gz.part" "$W/$FEED/incoming/PREP_DEB_2105.tar.gz"
seen=""
for _ in $(seq 1 150); do
    seen=$(curl -s -o /dev/null -D - --max-time 2 "$BASE/prep/$FEED/json/main.json" \
        | sed -n 's/^X-PREP-Corte: *\([^[:space:]]*\).*/\1/Ip' | head -1)
    [ "$seen" = "$CORTE" ] && break
    sleep 0.2
done
[ "$seen" = "$CORTE" ] || fail "X-PREP-Corte is '$seen', not $CORTE, 30 s after the upload"
mkdir -p "$W/ref"
tar -xzf "$W/PREP_DEB_2105.tar.gz" -C "$W/ref"
main=$(find "$W/ref" -path '*/json/main.json' | head -1)
curl -s --max-time 5 -o "$W/main.json" "$BASE/prep/$FEED/json/main.json"
cmp -s "$main" "$W/main.json" || fail "the served json/main.json is not the package's"
# the loader wrote the store as PrepUser, not root
bad=$(find "$W/$FEED/store" ! -user "$LOADER" | head -3)
[ -z "$bad" ] || fail "not written by $LOADER: $bad"
# with a feed the intake runs (what step 3 checks is absent), as PrepUser
intake=$(intake_of "$(system_apache_pid)")
[ -n "$intake" ] || fail "no intake process with a feed"
[ "$(ps -o user= -p "$intake" | tr -d ' ')" = "$LOADER" ] || fail "the intake does not run as $LOADER"
echo "deb: the system Apache served corte $CORTE from the package"
stop_system_apache
mark "feed served"

# ---------------------------------------------------------------- 5. dismod, remove, purge
a2disconf -q -p "$CONFNAME" >/dev/null
a2dismod -q prep >/dev/null || fail "a2dismod prep"
[ ! -e "$AP/mods-enabled/prep.load" ] || fail "a2dismod left mods-enabled/prep.load"
apache2ctl configtest >"$W/logs/configtest2.log" 2>&1 || { cat "$W/logs/configtest2.log"; fail "configtest after a2dismod"; }
# enabled again, so that remove must disable it
a2enmod -q prep >/dev/null
apt-get remove -y "$PKG" </dev/null >"$W/logs/remove.log" 2>&1 || { cat "$W/logs/remove.log"; fail "apt-get remove"; }
for f in "$MODDIR/mod_prep.so" /usr/bin/prepctl /usr/share/man/man1/prepctl.1.gz; do
    [ ! -e "$f" ] || fail "apt-get remove left $f"
done
for f in "$AP/mods-enabled/prep.load" "$AP/mods-enabled/prep.conf"; do
    if [ -e "$f" ] || [ -L "$f" ]; then fail "apt-get remove left $f enabled"; fi
done
for f in "$AP/mods-available/prep.load" "$AP/mods-available/prep.conf"; do
    [ -e "$f" ] || fail "apt-get remove removed the conffile $f"
done
[ ! -e "$RUNDIR/mod_prep-feeds.json" ] || fail "apt-get remove left $RUNDIR/mod_prep-feeds.json"
dpkg-query -W -f='${Status}\n' "$PKG" | grep -q 'deinstall ok config-files' || fail "after remove, $PKG is not in config-files state"
apache2ctl configtest >"$W/logs/configtest3.log" 2>&1 || { cat "$W/logs/configtest3.log"; fail "configtest after remove"; }
apt-get purge -y "$PKG" </dev/null >"$W/logs/purge.log" 2>&1 || { cat "$W/logs/purge.log"; fail "apt-get purge"; }
if dpkg -l "$PKG" 2>/dev/null | grep -q "^[a-z][a-z] *$PKG "; then fail "after purge dpkg -l still shows $PKG"; fi
for f in "$AP"/mods-available/prep.* "$AP"/mods-enabled/prep.* /usr/share/doc/$PKG /usr/share/mod_prep; do
    [ ! -e "$f" ] || fail "apt-get purge left $f"
done
left=$(find /var/lib/apache2 -name prep 2>/dev/null)
[ -z "$left" ] || fail "apt-get purge left Apache's state for the module: $left"
mark "dismod, remove, purge"
echo "deb: PASS"
