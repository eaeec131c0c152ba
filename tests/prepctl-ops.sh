#!/usr/bin/env bash
# tests/prepctl-ops.sh — prepctl's commands on a live feed, offline, on a
# real store: three cortes with increasing corte times loaded by
# tests/mkcorte (the loader the intake runs), a runtime file
# mod_prep-feeds.json written here as the module writes it.  cortes marks
# the one served; rollback serves the previous one, pins it in control.json
# and is journaled with its user; an unknown corte id, nothing before the
# oldest, a held loader.lock and an unknown feed are refused with exit 1;
# pin/unpin; drill on shows in status; close makes the feed closed; reset
# asks (a terminal), refuses without one and without --yes, and with --yes
# archives everything and the feed is waiting; events --since and --json;
# wrong usage exits 2.  Run as root (make check in CI), the store belongs to
# an unprivileged account and prepctl must act as it.  Run by `make check`
# (PREPCTL names the binary, MKCORTE the helper).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PREPCTL=${PREPCTL:-$HERE/../prepctl}
MKCORTE=${MKCORTE:-$HERE/mkcorte}
W=$(mktemp -d /tmp/prepctl-ops.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
FAILS=0
N=0
# the journal records who ran prepctl; sudo's variable would change it
unset SUDO_USER PREP_FEEDS_FILE APACHE_RUN_DIR

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
    N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $1"
    { cat "$W/out"; echo "# stderr:"; cat "$W/err"; } | sed 's/^/#   /' | head -30
}
# expect EXIT_CODE DESCRIPTION ARGS...: stdout in $W/out, stderr in $W/err.
expect() {
    local want=$1 what=$2 rc=0
    shift 2
    "$PREPCTL" "$@" >"$W/out" 2>"$W/err" </dev/null || rc=$?
    if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else not_ok "$what: exit $rc, want $want"; fi
}
has() { if grep -Eq -- "$1" "$W/out"; then ok "$2"; else not_ok "$2 (no /$1/ on stdout)"; fi; }
hasnt() { if ! grep -Eq -- "$1" "$W/out"; then ok "$2"; else not_ok "$2 (/$1/ on stdout)"; fi; }
has_err() { if grep -Eq -- "$1" "$W/err"; then ok "$2"; else not_ok "$2 (no /$1/ on stderr)"; fi; }
same() { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3 (\"$1\", want \"$2\")"; fi; }
# json FILE EXPR: a Python expression over the JSON document d of FILE.
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# Run as root, the store is the loader account's (here nobody's), as the
# module requires; prepctl then acts as it.
OWNER=
if [ "$(id -u)" = 0 ]; then OWNER=nobody; fi
own() { if [ -n "$OWNER" ]; then chown -R "$OWNER:" "$@"; fi; }
# as_owner CMD...: a load into the store as the loader account would run it
as_owner() {
    if [ -n "$OWNER" ]; then
        setpriv --reuid="$OWNER" --regid="$(id -g "$OWNER")" --clear-groups "$@"
    else "$@"; fi
}
USER_NAME=$(id -un)

STORE=$W/qro/store
mkdir -p "$W/qro/incoming" "$W/jal/store" "$W/pue/store" "$W/yuc/store"
IDS=()
for t in 21:00 21:05 21:10; do
    pkg=$W/qro/incoming/PREP_QRO_${t/:/}.tar.gz
    python3 "$HERE/genpackage.py" --files 30 --seed "${t/:/}" --corte "2024-06-02T$t:00-06:00" "$pkg" >/dev/null 2>&1
    IDS+=("$("$MKCORTE" "$STORE" "$pkg" 'json json/main.json /fechaCorte' 2>"$W/err")")
done
own "$W/qro" "$W/jal" "$W/pue" "$W/yuc"
[ "${#IDS[@]}" = 3 ] && ok "three cortes loaded: ${IDS[*]}" || not_ok "mkcorte made no three cortes"

FEEDS=$W/mod_prep-feeds.json
cat >"$FEEDS" <<EOF
{"version": "0.1.0", "written_at": "2024-06-02T19:00:00Z", "pid": 1, "server_root": "/etc/apache2",
 "feeds": [
  {"name": "qro", "incoming": "$W/qro/incoming", "store": "$STORE",
   "zone": {"offset": "-06:00", "name": "Tiempo del Centro"}, "update_interval_s": 300,
   "publish_from": null, "publish_until": null, "drill": false, "keep": 12, "user": "nobody"},
  {"name": "jal", "incoming": "$W/jal/incoming", "store": "$W/jal/store",
   "zone": {"offset": "-06:00", "name": "Tiempo del Centro"}, "update_interval_s": 300,
   "publish_from": "2099-06-02T20:00:00-06:00", "publish_until": null, "drill": false, "keep": 12, "user": "nobody"},
  {"name": "pue", "incoming": "$W/pue/incoming", "store": "$W/pue/store",
   "zone": {"offset": "-06:00", "name": "Tiempo del Centro"}, "update_interval_s": 300,
   "publish_from": "2099-06-02T20:00:00-06:00", "publish_until": "2099-06-03T08:00:00-06:00", "drill": true, "keep": 12, "user": "nobody"},
  {"name": "yuc", "incoming": "$W/yuc/incoming", "store": "$W/yuc/store",
   "zone": {"offset": "-05:00", "name": "Tiempo del Sureste"}, "update_interval_s": 900,
   "publish_from": "2099-06-02T19:00:00-05:00", "publish_until": "2024-06-03T08:00:00-06:00", "drill": false, "keep": 12, "user": "nobody"}
 ]}
EOF
F=(--feeds "$FEEDS")
served() { cat "$STORE/current"; }

# --- cortes and status ------------------------------------------------
expect 0 "cortes qro" cortes qro "${F[@]}"
same "$(grep -c -- '-[0-9a-f]\{8\} ' "$W/out")" 3 "it lists the three cortes"
has "^\* ${IDS[2]}  2024-06-02 21:10:00  PREP_QRO_2110.tar.gz  [0-9a-f]{12} +[0-9]+  .*newest$" \
    "the newest corte is marked served (*) and newest, with its corte time, package and sha256"
has "^  ${IDS[0]}  2024-06-02 21:00:00 " "the oldest is listed unmarked"
expect 0 "cortes qro --json" cortes qro --json "${F[@]}"
same "$(json "$W/out" 'd["served"] + " " + str(len(d["cortes"])) + " " + str([c["id"] for c in d["cortes"] if c["served"]])')" \
    "${IDS[2]} 3 ['${IDS[2]}']" "--json names the corte served and lists three"

expect 0 "status qro" status qro "${F[@]}"
has '^qro  SERVING  ' "the state in capitals"
has "^  corte +${IDS[2]}  2024-06-02 21:10:00  \([0-9]+ (s|min|h [0-9]+ min|d) old\)" "the corte served, its corte time and age"
has '^  pinned +no$' "not pinned"
has '^  drill +no$' "no drill"
expect 0 "status without FEED shows every feed" status "${F[@]}"
has '^qro  SERVING' "qro"
has '^jal  EMBARGOED' "and jal, before its PrepPublishFrom"
has '^  embargo +until 2099-06-02 20:00:00$' "until when"
has '^pue  WAITING' "pue, a drill, is not embargoed"
has '^  drill +yes \(SIMULACRO\)$' "its drill is PrepDrill's"
has '^  closed +no; closes at 2099-06-03 08:00:00 \(PrepPublishUntil\)$' "it closes at its PrepPublishUntil"
has '^yuc  CLOSED  \(times in Tiempo del Sureste, UTC-05:00\)$' "yuc, past its PrepPublishUntil, is closed (before any embargo), in its own zone"
has '^  closed +at 2024-06-03 09:00:00 \(PrepPublishUntil\)$' "closed at its PrepPublishUntil, in its zone"
same "$(grep -c '^  embargo' "$W/out")" 1 "only jal is shown embargoed (not pue in a drill, not yuc closed)"
expect 0 "status --json" status "${F[@]}" --json
same "$(json "$W/out" '[(f["name"], f["state"]) for f in d["feeds"]]')" \
    "[('qro', 'serving'), ('jal', 'embargoed'), ('pue', 'waiting'), ('yuc', 'closed')]" "the status document's feeds and states"
same "$(json "$W/out" '(d["feeds"][0]["pinned"], d["feeds"][0]["drill"])')" "(False, False)" "qro neither pinned nor in a drill"
same "$(json "$W/out" 'd["feeds"][0]["corte"]["id"]')" "${IDS[2]}" "with the corte served"

# --- rollback ---------------------------------------------------------
expect 0 "rollback qro" rollback qro "${F[@]}"
same "$(wc -l <"$W/out")" 1 "one line of result"
same "$(served)" "${IDS[1]}" "the previous corte is current"
same "$(json "$STORE/control.json" 'd["pin"]')" "${IDS[1]}" "control.json pins it"
same "$(tail -1 "$STORE/journal.jsonl" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["event"], d["user"], d["feed"])')" \
    "rollback $USER_NAME qro" "the journal's last line: rollback, by $USER_NAME"
if [ -n "$OWNER" ]; then
    same "$(find "$STORE" ! -user "$OWNER" | wc -l)" 0 "run as root, nothing in the store is root's"
fi
expect 0 "cortes after the rollback" cortes qro "${F[@]}"
has "^\* ${IDS[1]} " "the previous corte is marked served"
has "^  ${IDS[2]} .*newest$" "the newest is still marked newest"
expect 0 "status while pinned" status qro "${F[@]}"
has '^qro  PINNED' "it says PINNED"
has "^  pinned +yes, at ${IDS[1]}" "pinned at the rolled-back corte"
has "^  newest +${IDS[2]} " "with the newest corte"
has '^    [-0-9: ]{19}  rollback ' "its last events show the rollback"

expect 1 "rollback to an unknown corte id" rollback qro 20000101T000000Z-00000000 "${F[@]}"
has_err '^prepctl: .*20000101T000000Z-00000000' "the message names the id"
same "$(served)" "${IDS[1]}" "nothing changed"
expect 0 "rollback qro ID (the oldest)" rollback qro "${IDS[0]}" "${F[@]}"
same "$(served)" "${IDS[0]}" "the corte named is current"
expect 1 "rollback with nothing before the oldest" rollback qro "${F[@]}"
has_err '^prepctl: ' "with a sentence on stderr"

# --- pin and unpin ----------------------------------------------------
expect 0 "unpin qro" unpin qro "${F[@]}"
same "$(served)" "${IDS[2]}" "unpin serves the newest"
same "$(json "$STORE/control.json" 'd.get("pin")')" None "control.json pins nothing"
expect 0 "status after unpin" status qro "${F[@]}"
has '^qro  SERVING' "serving again"
expect 0 "pin qro (the corte served)" pin qro "${F[@]}"
same "$(json "$STORE/control.json" 'd["pin"]')" "${IDS[2]}" "pinned at the corte served"
expect 0 "pin qro ID" pin qro "${IDS[1]}" "${F[@]}"
same "$(served)" "${IDS[1]}" "the corte named is served at once"
expect 0 "unpin qro" unpin qro "${F[@]}"
same "$(served)" "${IDS[2]}" "the newest again"
expect 0 "unpin of a feed not pinned" unpin qro "${F[@]}"

# While pinned a new package is loaded and retained, not served; unpin
# serves it.
expect 0 "pin qro before a new package" pin qro "${F[@]}"
pkg=$W/qro/incoming/PREP_QRO_2115.tar.gz
python3 "$HERE/genpackage.py" --files 30 --seed 2115 --corte 2024-06-02T21:15:00-06:00 "$pkg" >/dev/null 2>&1
own "$W/qro"
as_owner "$MKCORTE" "$STORE" "$pkg" 'json json/main.json /fechaCorte' >/dev/null 2>&1 ||
    not_ok "mkcorte did not load the package while pinned"
NEW=$(ls "$STORE/cortes" | grep '^20240603T031500Z-' || true)
[ -n "$NEW" ] && ok "the new corte is retained: $NEW" || not_ok "no corte of 21:15 in cortes/"
same "$(served)" "${IDS[2]}" "the pinned corte is still served"
expect 0 "cortes while pinned" cortes qro "${F[@]}"
has "^\* ${IDS[2]} " "the pinned corte is marked served"
has "^  $NEW  2024-06-02 21:15:00 .*newest$" "the new one is marked newest"
expect 0 "status while pinned" status qro "${F[@]}"
has "^  newest +$NEW  2024-06-02 21:15:00" "status shows the newest corte"
expect 0 "unpin" unpin qro "${F[@]}"
same "$(served)" "$NEW" "unpin serves the newest retained corte"

# --- a load running ---------------------------------------------------
exec 9>>"$STORE/loader.lock"
flock -x 9
expect 1 "rollback while a load holds loader.lock" rollback qro "${F[@]}"
has_err 'load is running' "it says a load is running"
expect 1 "drill while a load holds loader.lock" drill qro on "${F[@]}"
exec 9>&-
same "$(served)" "$NEW" "nothing changed"

# --- drill ------------------------------------------------------------
expect 0 "drill qro on" drill qro on "${F[@]}"
expect 0 "status in a drill" status qro "${F[@]}"
has '^  drill +yes' "status says drill"
expect 0 "status --json in a drill" status qro --json "${F[@]}"
same "$(json "$W/out" 'd["feeds"][0]["drill"]')" True "the document says drill: true"
expect 2 "drill with a word that is not on or off" drill qro maybe "${F[@]}"
expect 2 "drill without a word" drill qro "${F[@]}"
expect 0 "drill qro off" drill qro off "${F[@]}"
expect 0 "status after the drill" status qro "${F[@]}"
has '^  drill +no' "no drill any more"

# --- events -----------------------------------------------------------
expect 0 "events qro" events qro "${F[@]}"
EVENTS=$(wc -l <"$W/out")
has '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[-+][0-9]{2}:[0-9]{2} rollback +.* by '"$USER_NAME"'$' \
    "one line per event: TIME EVENT detail, with the user"
has ' drill +.*on=true' "the drill is there"
same "$EVENTS" "$(wc -l <"$STORE/journal.jsonl")" "every journal line is listed"
expect 0 "events --since 1h" events qro --since 1h "${F[@]}"
same "$(wc -l <"$W/out")" "$EVENTS" "everything happened in the last hour"
expect 0 "events --since a time ahead" events qro --since 2099-01-01T00:00:00-06:00 "${F[@]}"
same "$(wc -l <"$W/out")" 0 "nothing after 2099"
expect 0 "events --json" events qro --json "${F[@]}"
same "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if "event" in json.loads(l)))' "$W/out")" \
    "$EVENTS" "one JSON object per line, each with its event"
cmp -s "$W/out" "$STORE/journal.jsonl" && ok "the lines as the journal holds them" || not_ok "--json changes the lines"
expect 2 "events --since with neither a time nor a duration" events qro --since yesterday "${F[@]}"

# --- close ------------------------------------------------------------
expect 0 "close qro" close qro "${F[@]}"
expect 0 "status after close" status qro "${F[@]}"
has '^qro  CLOSED' "the feed is closed"
has '^  closed +at ' "it says when"
same "$(tail -1 "$STORE/journal.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["event"])')" closed \
    "journaled as closed"

# --- reset ------------------------------------------------------------
expect 1 "reset without --yes and without a terminal" reset qro "${F[@]}"
has_err '--yes' "it says to give --yes"
[ ! -d "$STORE/archive" ] && [ -d "$STORE/cortes/${IDS[2]}" ] && ok "nothing was moved" || not_ok "reset moved something"
# at a terminal, the feed's name is asked (python's pty gives prepctl one)
at_terminal() {
    python3 - "$1" "$PREPCTL" reset qro "${F[@]}" <<'PY'
import os, pty, sys
answer = sys.argv[1].encode() + b"\n"
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
os.write(fd, answer)
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
rc=0; at_terminal jal >"$W/out" 2>"$W/err" || rc=$?
same "$rc" 1 "at a terminal, another name typed: refused"
has "Type the feed's name to confirm" "it asks for the feed's name"
[ -d "$STORE/cortes/${IDS[2]}" ] && ok "nothing was moved" || not_ok "reset moved something"
expect 0 "reset qro --yes" reset qro --yes "${F[@]}"
ARCHIVE=$(find "$STORE/archive" -mindepth 1 -maxdepth 1 -type d | head -1)
[ -n "$ARCHIVE" ] && ok "an archive folder: ${ARCHIVE#"$STORE"/}" || not_ok "no archive folder"
same "$(ls "$STORE/cortes" | wc -l)" 0 "no corte left in cortes/"
same "$(find "$ARCHIVE" -name corte.json | wc -l)" 4 "the four cortes are in the archive"
same "$(ls "$STORE/processed" 2>/dev/null | wc -l)" 0 "no package left in processed/"
same "$(find "$ARCHIVE" -name 'PREP_QRO_*.tar.gz' | wc -l)" 4 "the packages are in the archive"
expect 0 "status after reset" status qro "${F[@]}"
has '^qro  WAITING' "the feed is waiting"
has '^  corte +none served' "with no corte"
expect 0 "cortes after reset" cortes qro "${F[@]}"
has '^qro: 0 corte' "no corte retained"
python3 "$HERE/genpackage.py" --files 10 --seed 99 --corte 2024-06-02T21:30:00-06:00 "$W/qro/incoming/P.tar.gz" >/dev/null 2>&1
own "$W/qro"
ID=$(as_owner "$MKCORTE" "$STORE" "$W/qro/incoming/P.tar.gz" 'json json/main.json /fechaCorte' 2>/dev/null) || true
rc=0; at_terminal qro >"$W/out" 2>"$W/err" || rc=$?
same "$rc" 0 "at a terminal, the feed's name typed: reset"
same "$(ls "$STORE/cortes" | wc -l)" 0 "the new corte ($ID) is archived too"
same "$(find "$STORE/archive" -mindepth 1 -maxdepth 1 -type d | wc -l)" 2 "in a second archive folder"

# --- finding the feed -------------------------------------------------
expect 1 "an unknown feed" status nope "${F[@]}"
has_err "^prepctl: no feed nope in $FEEDS \(feeds: qro, jal, pue, yuc\)$" "it names the file and the feeds it has"
expect 1 "an unknown feed for an action" rollback nope "${F[@]}"
PREP_FEEDS_FILE=$FEEDS expect 0 "PREP_FEEDS_FILE names the runtime file" status qro
PREP_FEEDS_FILE=$W/none.json expect 1 "no runtime file" status qro
has_err "$W/none.json" "it says where it looked"
has_err '--store' "and suggests --store"
expect 0 "--store without the runtime file" status qro --store "$STORE" --feeds "$W/none.json"
has '^qro  WAITING  \(times in Tiempo del Centro, UTC-06:00\)' "the feed from its store, zone -06:00"
expect 0 "--store overrides the runtime file's store" cortes jal --store "$STORE" "${F[@]}"
has '^jal: 0 corte' "the store given is read"
echo '{"feeds": 3}' >"$W/bad.json"
expect 1 "a runtime file that is not one" status --feeds "$W/bad.json"
has_err 'not mod_prep' "it says so"

# --- wrong usage ------------------------------------------------------
expect 2 "cortes without FEED" cortes "${F[@]}"
expect 2 "rollback without FEED" rollback "${F[@]}"
expect 2 "events without FEED" events "${F[@]}"
expect 2 "an unknown command" frobnicate qro
expect 2 "an unknown option" status qro --fast "${F[@]}"
expect 2 "--yes where it means nothing" rollback qro --yes "${F[@]}"
expect 2 "a FEED that is no feed name" status 'q/ro' "${F[@]}"
expect 2 "--feeds without a value" status --feeds
expect 2 "unpin with a word too many" unpin qro extra "${F[@]}"

# --- as root ----------------------------------------------------------
if [ -n "$OWNER" ]; then
    SUDO_USER=alice expect 0 "run under sudo" drill qro on "${F[@]}"
    same "$(tail -1 "$STORE/journal.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"])')" \
        "root (sudo alice)" "the journal says root (sudo alice)"
    # another account, not root: may read the store, not write it
    AS_OTHER=(setpriv --reuid=daemon --regid=daemon --clear-groups)
    rc=0; "${AS_OTHER[@]}" "$PREPCTL" rollback qro "${F[@]}" >"$W/out" 2>"$W/err" || rc=$?
    same "$rc" 1 "a user who may not write the store: rollback refused"
    has_err '^prepctl: user daemon may not write the store' "with the permission sentence"
    rc=0; "${AS_OTHER[@]}" "$PREPCTL" status qro "${F[@]}" >"$W/out" 2>"$W/err" || rc=$?
    same "$rc" 0 "but may read its status"
    chmod 700 "$STORE"
    rc=0; "${AS_OTHER[@]}" "$PREPCTL" events qro "${F[@]}" >"$W/out" 2>"$W/err" || rc=$?
    same "$rc" 1 "a user who may not read the store: events refused"
    has_err "^prepctl: the store $STORE of feed qro cannot be read: Permission denied$" "saying so"
    chmod 755 "$STORE"
    chown -R root: "$STORE"
    expect 1 "a store owned by root" drill qro off "${F[@]}"
    has_err "^prepctl: the store $STORE is owned by root; it must be owned by the loader account$" "it says so"
    expect 1 "status of a store owned by root" status qro "${F[@]}"
else
    echo "# not root: the switch to the store's owner is not tried"
fi

expect 0 "--help" --help
for c in 'status \[FEED\] \[--json\]' 'cortes FEED' 'events FEED \[--since TIME\] \[--json\]' \
    'rollback FEED \[ID\]' 'pin FEED \[ID\]' 'unpin FEED' 'reset FEED \[--yes\]' 'close FEED' \
    'drill FEED on\|off' 'EXIT STATUS' 'EXAMPLES'; do
    has "$c" "--help shows $c"
done

echo "1..$N"
[ "$FAILS" = 0 ]
