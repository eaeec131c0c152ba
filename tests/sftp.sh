#!/usr/bin/env bash
# tests/sftp.sh — the institute's SFTP account, for real: OpenSSH's sshd
# (Debian's openssh-server, a configuration of its own under a temporary
# directory, 127.0.0.1 only, its own host key, never /etc/ssh) with a
# chrooted internal-sftp account set up as docs/operations.md ("Three
# accounts") tells the administrator: the group, the account (useradd, then
# its password field unlocked to `*`), the key in authorized_keys, the
# chroot owned by root, PrepIncoming prep:GROUP 1770, the Match block with
# ForceCommand internal-sftp -u 0022 (and -m 0644 when this sftp-server has
# it).  httpd is started as root with an unprivileged User and a PrepUser,
# and the institute's client uploads packages made by tests/genpackage.py:
#
#   1  `sftp -b`: put to the final name                       published
#   2  `sftp -b`: put to NAME.part, then rename               published
#   3  `scp` (SFTP mode, OpenSSH 9's default)                 published
#   4  `sftp -l 2000` (2 Mbit/s) to the final name, ~600 KB   published
#   5  WinSCP's convention: put NAME.filepart, rename          published
#   6  `scp -O` (the legacy SCP protocol) and rsync: both fail in the
#      chroot (ForceCommand internal-sftp speaks SFTP only), as the docs say
#   7  a package uploaded with mode 0600 (the client sends the local file's
#      mode; -u cannot add a bit): without -m it cannot be read by the
#      loader account and is refused as `unreadable` (STORE/rejected with
#      its .reason, journaled, in the status's refusals, the mode and the
#      fix in the message); sent again with `chmod 644` before the rename,
#      it is published
#   8  the alternative for rsync, as the docs give it: a second account, not
#      chrooted, whose key may only run `rrsync -wo` into PrepIncoming:
#      `rsync --chmod=F644` is published; a shell command is refused
#   9  a second feed, arbol, `PrepSource tree` with its PrepIncoming /arbol
#      in the same chroot: the institute's `sftp put -r` of a tree is
#      published as a snapshot (tree-…Z.tar)
#  10  the same tree updated in place with `scp -r` (files changed and one
#      added): a new corte with the changes
#
# Also: the account as useradd makes it (password locked, `!`) is refused
# by sshd with UsePAM no, which is why the docs unlock it to `*`.  Each
# publication is checked in the status (corte id and package) and in the
# X-PREP-Corte header.  sshd and httpd are stopped by their pids; the
# accounts, the group and the directories made here are removed at the end.
# Needs root (skips otherwise).  About a minute.
#
#   tests/sftp.sh [TOP]     TOP: the built tree (.libs/mod_prep.so)
#
# Environment: PREP_TEST_USER (the server's User, prepci), PREP_TEST_LOADER
# (PrepUser, prep), PREP_SO, PREP_TEST_KEEP=1 keeps the work directory.
set -euo pipefail

TOP=${1:-$(cd "$(dirname "$0")/.." && pwd)}
TOP=$(cd "$TOP" && pwd)
GEN="$TOP/tests/genpackage.py"
# shellcheck source=tests/root-test.sh
. "$TOP/tests/root-test.sh"
root_test_setup sftp || exit 0
T0=$SECONDS

SFTP_USER=prepsftp         # the institute's account (ople-qro in the docs)
SFTP_GROUP=prepinst        # its group (ieeq in the docs)
RSYNC_USER=prepsrsync      # its rrsync account (ople-qro-rsync in the docs)
LOADER_NAME=${PREP_TEST_LOADER:-prep}
FEED=sftp
SSHD=/usr/sbin/sshd
SFTP_SERVER=/usr/lib/openssh/sftp-server
MADE_USER=0 MADE_RSYNC_USER=0 MADE_GROUP=0 MADE_LOADER=0 MADE_RUN_SSHD=0
R="" SSHD_PID=""
FAILS=0

log() { echo "sftp: $*"; }
bad() {
    echo "sftp: FAIL: $*"
    FAILS=$((FAILS + 1))
}
dump() {
    echo "---- httpd error_log (last 30 lines)"
    tail -30 "$W/logs/error_log" 2>/dev/null || true
    echo "---- sshd log (last 30 lines)"
    tail -30 "$W/sshd.log" 2>/dev/null || true
    echo "---- incoming and store"
    find "$R/qro/incoming" "$R/store" -maxdepth 2 -printf '%u:%g %m %s %p\n' 2>/dev/null | head -40 || true
}

stop_sshd() {
    local pid=${SSHD_PID:-}
    [ -n "$pid" ] || pid=$(cat "$W/sshd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    SSHD_PID=""
}

cleanup() {
    local rc=$?
    stop_sshd
    stop_httpd "$W"
    [ "$MADE_USER" = 1 ] && userdel -r "$SFTP_USER" >/dev/null 2>&1
    [ "$MADE_RSYNC_USER" = 1 ] && userdel -r "$RSYNC_USER" >/dev/null 2>&1
    [ "$MADE_GROUP" = 1 ] && getent group "$SFTP_GROUP" >/dev/null && groupdel "$SFTP_GROUP"
    [ "$MADE_LOADER" = 1 ] && userdel "$LOADER_NAME" >/dev/null 2>&1
    [ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
    if [ "${PREP_TEST_KEEP:-0}" = 1 ]; then
        log "kept $W and $R"
    else
        rm -rf "$W" "$R"
    fi
    if [ "$rc" = 0 ] && [ "$FAILS" = 0 ]; then
        log "OK ($((SECONDS - T0)) s)"
    else
        log "FAILED ($FAILS failure(s), $((SECONDS - T0)) s)"
    fi
    exit $((rc != 0 || FAILS != 0))
}
trap cleanup EXIT

# ---------------------------------------------------------------- OpenSSH
if [ ! -x "$SSHD" ] || ! command -v sftp >/dev/null || ! command -v scp >/dev/null; then
    log "installing openssh-server openssh-client"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openssh-server openssh-client </dev/null >/dev/null
fi
command -v rsync >/dev/null || { echo "sftp: rsync missing"; exit 1; }
log "$("$SSHD" -V 2>&1 | head -1 || true)"
# Whether this internal-sftp can force the mode of uploads (-m): its usage
# line lists every option (Debian 12's OpenSSH 9.2 has none).
HAS_M=0
if "$SFTP_SERVER" -h 2>&1 | grep -q -- '-m '; then
    HAS_M=1
fi
log "sftp-server -h: $("$SFTP_SERVER" -h 2>&1 | tr -s ' \t\n' ' ')"
log "internal-sftp -m (force the mode of uploads): $([ "$HAS_M" = 1 ] && echo yes || echo 'no: a 0600 upload stays 0600')"

# ---------------------------------------------------------------- accounts
# As docs/operations.md: the loader account, the institute's group and its
# SFTP-only account.  The chroot and everything above it must be root's and
# writable by nobody else, so it is not under /tmp: under /srv, with the
# store beside it (outside the chroot, on the same file system).
if ! id "$LOADER_NAME" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$LOADER_NAME"
    MADE_LOADER=1
fi
if getent group "$SFTP_GROUP" >/dev/null; then
    echo "sftp: group $SFTP_GROUP exists already; remove it or pick another name"
    exit 1
fi
for u in "$SFTP_USER" "$RSYNC_USER"; do
    if id "$u" >/dev/null 2>&1; then
        echo "sftp: account $u exists already; remove it or pick another name"
        exit 1
    fi
done
groupadd "$SFTP_GROUP" && MADE_GROUP=1
useradd --create-home --gid "$SFTP_GROUP" --shell /usr/sbin/nologin "$SFTP_USER" && MADE_USER=1
HOME_DIR=$(getent passwd "$SFTP_USER" | cut -d: -f6)

mkdir -p /srv
R=$(mktemp -d /srv/prep-sftp.XXXXXX)
chmod 0755 "$R"
install -d -o root -g root -m 0755 "$R/qro"                                 # the SFTP chroot
install -d -o "$LOADER_NAME" -g "$SFTP_GROUP" -m 1770 "$R/qro/incoming"     # PrepIncoming
install -d -o "$LOADER_NAME" -g "$(id -gn "$LOADER_NAME")" -m 0755 "$R/store"  # PrepStore
install -d -o "$LOADER_NAME" -g "$SFTP_GROUP" -m 1770 "$R/qro/arbol"        # PrepSource tree
install -d -o "$LOADER_NAME" -g "$(id -gn "$LOADER_NAME")" -m 0755 "$R/store-arbol"
INC="$R/qro/incoming"
STORE="$R/store"

# The institute's key, in the account's authorized_keys.
ssh-keygen -q -t ed25519 -N '' -C "institute@test" -f "$W/id_institute"
install -d -o "$SFTP_USER" -g "$SFTP_GROUP" -m 0700 "$HOME_DIR/.ssh"
install -o "$SFTP_USER" -g "$SFTP_GROUP" -m 0600 "$W/id_institute.pub" "$HOME_DIR/.ssh/authorized_keys"
# The rrsync account: a shell (sshd runs the key's command through it), no
# chroot, the key restricted to rrsync -wo into incoming.
useradd --create-home --gid "$SFTP_GROUP" --shell /bin/sh "$RSYNC_USER" && MADE_RSYNC_USER=1
usermod -p '*' "$RSYNC_USER"
RSYNC_HOME=$(getent passwd "$RSYNC_USER" | cut -d: -f6)
install -d -o "$RSYNC_USER" -g "$SFTP_GROUP" -m 0700 "$RSYNC_HOME/.ssh"
printf 'command="/usr/bin/rrsync -wo -no-del %s",restrict %s\n' "$R/qro/incoming" "$(cat "$W/id_institute.pub")" \
    >"$RSYNC_HOME/.ssh/authorized_keys"
chown "$RSYNC_USER:$SFTP_GROUP" "$RSYNC_HOME/.ssh/authorized_keys"
chmod 0600 "$RSYNC_HOME/.ssh/authorized_keys"

# ---------------------------------------------------------------- sshd
SPORT=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh_host_ed25519_key"
printf '[127.0.0.1]:%s %s\n' "$SPORT" "$(cut -d' ' -f1,2 "$W/ssh_host_ed25519_key.pub")" >"$W/known_hosts"
# sshd's privilege separation directory (the init system makes it)
if [ ! -d /run/sshd ]; then
    install -d -o root -g root -m 0755 /run/sshd
    MADE_RUN_SSHD=1
fi
FORCE="internal-sftp -u 0022 -P symlink,hardlink"
[ "$HAS_M" = 1 ] && FORCE="internal-sftp -u 0022 -m 0644 -P symlink,hardlink"
cat >"$W/sshd_config" <<EOF
# tests/sftp.sh: an sshd of its own, 127.0.0.1 only
Port $SPORT
ListenAddress 127.0.0.1
HostKey $W/ssh_host_ed25519_key
PidFile $W/sshd.pid
# as Debian's sshd_config
UsePAM yes
KbdInteractiveAuthentication no
PasswordAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $SFTP_USER $RSYNC_USER
LogLevel VERBOSE
Subsystem sftp internal-sftp

# docs/operations.md, "Three accounts"
Match User $SFTP_USER
    ChrootDirectory $R/qro
    ForceCommand $FORCE
    AllowTcpForwarding no
    X11Forwarding no
    PermitTunnel no
EOF
"$SSHD" -t -f "$W/sshd_config" || { bad "sshd -t refuses the configuration"; exit 1; }

# start_sshd [OPTIONS...]: sshd -D -e in the background, its pid in
# SSHD_PID, once it accepts connections.
start_sshd() {
    "$SSHD" -f "$W/sshd_config" -D -e "$@" 2>>"$W/sshd.log" &
    SSHD_PID=$!
    wait_until 10 python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$SPORT" \
        || { bad "sshd does not listen on 127.0.0.1:$SPORT"; dump; exit 1; }
}

SSH_OPTS=(-F /dev/null -i "$W/id_institute" -o IdentitiesOnly=yes -o BatchMode=yes
          -o UserKnownHostsFile="$W/known_hosts" -o StrictHostKeyChecking=yes -o ConnectTimeout=10)
# sftp_batch FILE [OPTIONS...]: the batch FILE run by the institute's client.
sftp_batch() {
    local batch=$1; shift
    timeout 60 sftp "${SSH_OPTS[@]}" -P "$SPORT" "$@" -b "$batch" "$SFTP_USER@127.0.0.1"
}

# The account as useradd leaves it has a locked password ("!"): with
# UsePAM no, sshd refuses it even with its key.
if [ "$(getent shadow "$SFTP_USER" | cut -d: -f2 | cut -c1)" = '!' ]; then
    start_sshd -o UsePAM=no
    echo 'ls /' >"$W/ls.batch"
    if sftp_batch "$W/ls.batch" >"$W/locked.out" 2>&1; then
        bad "sshd (UsePAM no) let the locked account in"
    elif grep -q "account is locked" "$W/sshd.log"; then
        log "as useradd makes it, the account is locked: sshd (UsePAM no) says \"$(grep -o 'User [^ ]* not allowed because account is locked' "$W/sshd.log" | head -1)\""
    else
        bad "the locked account failed for another reason: $(tail -3 "$W/sshd.log")"
    fi
    stop_sshd
else
    log "useradd left no locked password here; the UsePAM no check is skipped"
fi
# docs/operations.md: no password can match '*', the key alone logs in
usermod -p '*' "$SFTP_USER"
start_sshd
log "sshd (pid $SSHD_PID) on 127.0.0.1:$SPORT, the account chrooted to $R/qro"

# The account sees /incoming and nothing more.
printf 'ls -1 /\n' >"$W/ls.batch"
sftp_batch "$W/ls.batch" >"$W/ls.out" 2>&1 || { bad "the institute's account cannot log in: $(cat "$W/ls.out")"; dump; exit 1; }
grep -qx '/incoming' "$W/ls.out" || bad "the chroot does not show /incoming: $(cat "$W/ls.out")"
# -P symlink,hardlink: no links can be made
printf -- '-symlink /incoming/a /incoming/b\n' >"$W/ln.batch"
sftp_batch "$W/ln.batch" >"$W/ln.out" 2>&1 || true
[ ! -L "$INC/b" ] || bad "the account made a symbolic link in incoming"
rm -f "$INC/b"

# ---------------------------------------------------------------- httpd
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
mkdir -p "$W/logs" "$W/run"
write_server_conf "$W" "$PORT" "$FEED"
sed -i "s|^\( *PrepIncoming \).*|\1$INC|; s|^\( *PrepStore \).*|\1$STORE|" "$W/httpd.conf"
cat >>"$W/httpd.conf" <<EOF
<PrepFeed arbol>
    PrepSource     tree
    PrepIncoming   $R/qro/arbol
    PrepStore      $R/store-arbol
    PrepSettleTime 1
    PrepCorteTime  json json/main.json /fechaCorte
</PrepFeed>
<Location /prep/arbol>
    SetHandler prep
    PrepServe arbol
</Location>
EOF
"$HTTPD" -t -f "$W/httpd.conf" >"$W/configtest.out" 2>&1 || { cat "$W/configtest.out"; bad "httpd -t"; exit 1; }
"$HTTPD" -f "$W/httpd.conf" -k start || { bad "httpd -k start"; dump; exit 1; }
wait_until 20 curl -sf -o /dev/null "$BASE/prep-status" || { bad "httpd does not answer on $BASE"; dump; exit 1; }

st() { feed_status "$BASE" "$FEED" "$1"; }
corte_header() {
    curl -s -D - -o /dev/null "$BASE/prep/$FEED/json/main.json" | tr -d '\r' \
        | sed -n 's/^[Xx]-[Pp][Rr][Ee][Pp]-[Cc]orte: *//p'
}

# serving NAME: the corte served is package NAME's.  refused_as NAME REASON:
# the status's recent refusals have NAME with REASON.
serving() { [ "$(st 'f["corte"]["package"]')" = "$1" ]; }
refused_as() {
    [ "$(st '[r["reason"] for r in f["rejected"] if r["package"] == "'"$1"'"][0]')" = "$2" ]
}

# published NAME CORTE_TIME: waits (30 s) until the feed serves a corte of
# package NAME, then checks its id changed, its time, and X-PREP-Corte.
LAST_ID=""
published() {
    local name=$1 when=$2 id header
    if ! wait_until 30 serving "$name"; then
        bad "$name was not published within 30 s (corte: $(st 'f.get("corte")'), refused: $(st 'f.get("rejected")[:1]'))"
        return 1
    fi
    id=$(st 'f["corte"]["id"]')
    [ "$id" != "$LAST_ID" ] || { bad "$name: the corte id did not change ($id)"; return 1; }
    LAST_ID=$id
    header=$(corte_header)
    [ -n "$header" ] || { bad "$name: no X-PREP-Corte header"; return 1; }
    [ "$(st 'f["corte"]["time"]')" = "$when" ] \
        || bad "$name: corte time $(st 'f["corte"]["time"]'), not $when"
    log "  published corte $id (X-PREP-Corte: $header)"
}

# A package per upload, each one minute after the one before.
N=0
make_pkg() {
    local name=$1; shift
    N=$((N + 1))
    CORTE_TIME=$(printf '2024-06-02T21:%02d:00-06:00' "$N")
    python3 "$GEN" "$W/$name" --files 60 --seed "$N" --corte "$CORTE_TIME" "$@" >/dev/null
    chmod 0644 "$W/$name"
}

# ---------------------------------------------------------------- uploads
log "1: sftp -b, put to the final name"
make_pkg PREP_QRO_2101.tar.gz
printf 'put %s /incoming/PREP_QRO_2101.tar.gz\n' "$W/PREP_QRO_2101.tar.gz" >"$W/1.batch"
sftp_batch "$W/1.batch" >"$W/1.out" 2>&1 || bad "sftp put: $(cat "$W/1.out")"
published PREP_QRO_2101.tar.gz "$CORTE_TIME" || true

log "2: sftp -b, put to NAME.part, then rename"
make_pkg PREP_QRO_2102.tar.gz
printf 'put %s /incoming/PREP_QRO_2102.tar.gz.part\nrename /incoming/PREP_QRO_2102.tar.gz.part /incoming/PREP_QRO_2102.tar.gz\n' \
    "$W/PREP_QRO_2102.tar.gz" >"$W/2.batch"
sftp_batch "$W/2.batch" >"$W/2.out" 2>&1 || bad "sftp put .part + rename: $(cat "$W/2.out")"
published PREP_QRO_2102.tar.gz "$CORTE_TIME" || true

log "3: scp (SFTP mode)"
make_pkg PREP_QRO_2103.tar.gz
timeout 60 scp "${SSH_OPTS[@]}" -P "$SPORT" -q "$W/PREP_QRO_2103.tar.gz" \
    "$SFTP_USER@127.0.0.1:/incoming/PREP_QRO_2103.tar.gz" >"$W/3.out" 2>&1 \
    || bad "scp: $(cat "$W/3.out")"
published PREP_QRO_2103.tar.gz "$CORTE_TIME" || true

log "4: sftp -l 2000 (2 Mbit/s), put to the final name"
make_pkg PREP_QRO_2104.tar.gz --size-mb 0.6
log "  $(stat -c %s "$W/PREP_QRO_2104.tar.gz") bytes"
t_up=$SECONDS
printf 'put %s /incoming/PREP_QRO_2104.tar.gz\n' "$W/PREP_QRO_2104.tar.gz" >"$W/4.batch"
sftp_batch "$W/4.batch" -l 2000 >"$W/4.out" 2>&1 || bad "sftp -l: $(cat "$W/4.out")"
log "  uploaded in $((SECONDS - t_up)) s"
published PREP_QRO_2104.tar.gz "$CORTE_TIME" || true

log "5: WinSCP's convention, NAME.filepart then rename"
make_pkg PREP_QRO_2105.tar.gz
printf 'put %s /incoming/PREP_QRO_2105.tar.gz.filepart\nrename /incoming/PREP_QRO_2105.tar.gz.filepart /incoming/PREP_QRO_2105.tar.gz\n' \
    "$W/PREP_QRO_2105.tar.gz" >"$W/5.batch"
sftp_batch "$W/5.batch" >"$W/5.out" 2>&1 || bad "sftp .filepart + rename: $(cat "$W/5.out")"
published PREP_QRO_2105.tar.gz "$CORTE_TIME" || true

# What was uploaded is the institute's, 0644, and the loader took it away.
for n in 2101 2102 2103 2104 2105; do
    [ -e "$STORE/processed/PREP_QRO_$n.tar.gz" ] || bad "PREP_QRO_$n.tar.gz is not in STORE/processed"
done
left=$(find "$INC" -mindepth 1 -printf '%f ')
[ -z "$left" ] || bad "incoming is not empty after the uploads: $left"

log "6: scp -O (legacy SCP protocol) and rsync fail in the chroot"
make_pkg PREP_QRO_2106.tar.gz
if timeout 30 scp -O "${SSH_OPTS[@]}" -P "$SPORT" -q "$W/PREP_QRO_2106.tar.gz" \
    "$SFTP_USER@127.0.0.1:/incoming/PREP_QRO_2106.tar.gz" >"$W/6o.out" 2>&1; then
    bad "scp -O succeeded"
fi
log "  scp -O: exit non-zero: $(tr '\n' ' ' <"$W/6o.out" | cut -c1-120)"
if timeout 30 rsync -e "ssh ${SSH_OPTS[*]} -p $SPORT" "$W/PREP_QRO_2106.tar.gz" \
    "$SFTP_USER@127.0.0.1:/incoming/" >"$W/6r.out" 2>&1; then
    bad "rsync succeeded"
fi
log "  rsync: exit non-zero: $(tr '\n' ' ' <"$W/6r.out" | cut -c1-120)"
[ -z "$(find "$INC" -mindepth 1 -print -quit)" ] || bad "scp -O or rsync left something in incoming: $(ls -A "$INC")"

log "7: a package uploaded with mode 0600"
make_pkg PREP_QRO_2107.tar.gz
chmod 0600 "$W/PREP_QRO_2107.tar.gz"
printf 'put %s /incoming/PREP_QRO_2107.tar.gz.part\nrename /incoming/PREP_QRO_2107.tar.gz.part /incoming/PREP_QRO_2107.tar.gz\n' \
    "$W/PREP_QRO_2107.tar.gz" >"$W/7.batch"
sftp_batch "$W/7.batch" >"$W/7.out" 2>&1 || bad "sftp put 0600: $(cat "$W/7.out")"
if [ "$HAS_M" = 1 ]; then
    # -m 0644 forces it readable: published; then a 0600 file of the
    # account's put there by root plays the upload -m would have mended
    published PREP_QRO_2107.tar.gz "$CORTE_TIME" || true
    make_pkg PREP_QRO_2108.tar.gz
    install -o "$SFTP_USER" -g "$SFTP_GROUP" -m 0600 "$W/PREP_QRO_2108.tar.gz" "$INC/PREP_QRO_2108.tar.gz"
    REFUSED=PREP_QRO_2108.tar.gz
else
    REFUSED=PREP_QRO_2107.tar.gz
fi
wait_until 5 test -e "$INC/$REFUSED" || wait_until 5 test -e "$STORE/rejected/$REFUSED" || true
if [ "$HAS_M" = 0 ] && [ -e "$INC/$REFUSED" ]; then
    log "  in incoming: $(stat -c '%U:%G %a' "$INC/$REFUSED") (the client sent 0600; -u 0022 cannot add a bit)"
fi
if wait_until 15 refused_as "$REFUSED" unreadable; then
    msg=$(st '[r["message"] for r in f["rejected"] if r["package"] == "'"$REFUSED"'"][0]')
    log "  refused: unreadable: $msg"
    for want in "the loader account $LOADER_NAME cannot read" "mode 0600" "owner $SFTP_USER, group $SFTP_GROUP" \
                "readable by $LOADER_NAME" "chmod 0644" "internal-sftp -u 0022" "-m 0644"; do
        case "$msg" in *"$want"*) ;; *) bad "the refusal's message does not say \"$want\"" ;; esac
    done
else
    bad "$REFUSED (0600) was not refused as unreadable: rejected $(st 'f.get("rejected")[:1]'), ignored $(st 'f.get("incoming_ignored")')"
fi
[ ! -e "$INC/$REFUSED" ] || bad "$REFUSED is still in incoming"
[ -e "$STORE/rejected/$REFUSED" ] || bad "$REFUSED is not in STORE/rejected"
grep -q '^unreadable: the loader account ' "$STORE/rejected/$REFUSED.reason" 2>/dev/null \
    || bad "STORE/rejected/$REFUSED.reason does not say unreadable: $(cat "$STORE/rejected/$REFUSED.reason" 2>&1)"
python3 - "$STORE/journal.jsonl" "$REFUSED" <<'PY' || bad "the journal has no refused line for $REFUSED as unreadable"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(l.get("event") == "refused" and l.get("package") == sys.argv[2]
                  and l.get("reason") == "unreadable" for l in lines) else 1)
PY
grep -q "PREP0112: feed $FEED: package $REFUSED refused: unreadable" "$W/logs/error_log" \
    || bad "the error log does not tell the refusal (PREP0112)"
[ -z "$(st 'f.get("incoming_ignored")')" ] || [ "$(st 'f.get("incoming_ignored")')" = "[]" ] \
    || bad "incoming_ignored is not empty: $(st 'f.get("incoming_ignored")')"
[ "$(st 'f["corte"]["package"]')" != "$REFUSED" ] || bad "the unreadable package was published"

log "  sent again with chmod 644 before the rename"
NAME=${REFUSED%.tar.gz}-b.tar.gz
cp "$W/$REFUSED" "$W/$NAME"
printf 'put %s /incoming/%s.part\nchmod 644 /incoming/%s.part\nrename /incoming/%s.part /incoming/%s\n' \
    "$W/$NAME" "$NAME" "$NAME" "$NAME" "$NAME" >"$W/7b.batch"
sftp_batch "$W/7b.batch" >"$W/7b.out" 2>&1 || bad "sftp put + chmod + rename: $(cat "$W/7b.out")"
published "$NAME" "$CORTE_TIME" || true

log "8: rsync through a non-chrooted account restricted with rrsync -wo"
make_pkg PREP_QRO_2109.tar.gz
chmod 0600 "$W/PREP_QRO_2109.tar.gz"   # --chmod=F644 makes it readable all the same
timeout 60 rsync --chmod=F644 -e "ssh ${SSH_OPTS[*]} -p $SPORT" "$W/PREP_QRO_2109.tar.gz" \
    "$RSYNC_USER@127.0.0.1:" >"$W/8.out" 2>&1 || bad "rsync to rrsync: $(cat "$W/8.out")"
published PREP_QRO_2109.tar.gz "$CORTE_TIME" || true
if timeout 30 ssh "${SSH_OPTS[@]}" -p "$SPORT" "$RSYNC_USER@127.0.0.1" id >"$W/8s.out" 2>&1; then
    bad "the rrsync account ran a shell command: $(cat "$W/8s.out")"
fi
log "  a shell command: refused: $(tr '\n' ' ' <"$W/8s.out" | cut -c1-100)"

# ---------------------------------------------------------------- a tree
ast() { feed_status "$BASE" arbol "$1"; }
tree_time_is() { [ "$(ast '(f.get("corte") or {}).get("time")')" = "$1" ]; }
# tree_published SECONDS TIME: the tree feed serves a new snapshot of TIME
TREE_ID=""
tree_published() {
    local id
    if ! wait_until "$1" tree_time_is "$2"; then
        bad "the tree of $2 was not published (corte: $(ast 'f.get("corte")'), refused: $(ast 'f.get("rejected")[:1]'), problem: $(ast 'f.get("problem")'))"
        return 1
    fi
    id=$(ast 'f["corte"]["id"]')
    [ "$id" != "$TREE_ID" ] || { bad "the tree's corte id did not change"; return 1; }
    TREE_ID=$id
    case "$(ast 'f["corte"]["package"]')" in
        tree-*Z.tar) ;;
        *) bad "the tree's corte is not a snapshot: $(ast 'f["corte"]["package"]')" ;;
    esac
    log "  published corte $id from $(ast 'f["corte"]["package"]')"
}
# tree_of DIR HH:MM: DIR/prep_qro, the tree of a package of that corte time
tree_of() {
    mkdir -p "$1"
    python3 "$GEN" "$W/tree.tar.gz" --files 60 --seed 30 --corte "2024-06-02T$2:00-06:00" >/dev/null
    tar -xzf "$W/tree.tar.gz" -C "$1"
    chmod -R u+rwX,go+rX "$1"
}

log "9: PrepSource tree: sftp put -r of a tree into /arbol"
tree_of "$W/t1" 21:20
printf 'put -r %s /arbol\n' "$W/t1/prep_qro" >"$W/9.batch"
sftp_batch "$W/9.batch" >"$W/9.out" 2>&1 || bad "sftp put -r: $(cat "$W/9.out")"
tree_published 30 2024-06-02T21:20:00-06:00 || true
[ -e "$R/qro/arbol/prep_qro/json/main.json" ] || bad "the tree is not in /arbol as uploaded"
curl -s "$BASE/prep/arbol/json/main.json" | grep -q '21:20:00' || bad "json/main.json of the tree is not served"

log "10: the tree updated in place with scp -r"
tree_of "$W/t2" 21:25
printf '{"nuevo": true}\n' >"$W/t2/prep_qro/json/nuevo.json"
timeout 60 scp "${SSH_OPTS[@]}" -P "$SPORT" -q -r "$W/t2/prep_qro" "$SFTP_USER@127.0.0.1:/arbol/" >"$W/10.out" 2>&1 \
    || bad "scp -r: $(cat "$W/10.out")"
tree_published 30 2024-06-02T21:25:00-06:00 || true
[ "$(curl -s "$BASE/prep/arbol/json/nuevo.json")" = '{"nuevo": true}' ] || bad "the file scp -r added is not served"

[ "$FAILS" = 0 ] || dump
