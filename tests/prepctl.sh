#!/usr/bin/env bash
# tests/prepctl.sh — `prepctl verify` on real packages made by real tools:
# a generated package is accepted with its files, bytes and corte time; a
# package refused by a rule exits 1 with the reason code; wrong usage exits
# 2; PrepVerify sha256 and signature work offline as in the module; every
# option that is a <PrepFeed> directive accepts and refuses what configtest
# does, with its sentence (compared with `httpd -t` itself when HTTPD,
# HTTPD_MODULES and PREP_SO name httpd, its modules and the built module).
# `prepctl audit` on a real corte (a generated package loaded into a store
# by tests/mkcorte, the loader the intake runs): clean, then with one byte
# of a known file changed (as delivered, and its gzip variant), the pack
# cut short, corte.json damaged.  Run by `make check` (PREPCTL names the
# binary, default ./prepctl; MKCORTE the helper, default tests/mkcorte).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PREPCTL=${PREPCTL:-$HERE/../prepctl}
MKCORTE=${MKCORTE:-$HERE/mkcorte}
W=$(mktemp -d /tmp/prepctl-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
FAILS=0
N=0

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $1"; sed 's/^/#   /' "$W/out" | head -20; }

# expect EXIT_CODE DESCRIPTION ARGS...: runs prepctl, output in $W/out.
expect() {
    local want=$1 what=$2 rc=0
    shift 2
    "$PREPCTL" "$@" >"$W/out" 2>&1 || rc=$?
    if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else not_ok "$what: exit $rc, want $want"; fi
}

# has PATTERN DESCRIPTION: the last output matches (grep -E).
has() {
    if grep -Eq -- "$1" "$W/out"; then ok "$2"; else not_ok "$2 (no /$1/)"; fi
}

JSON_TIME=(--corte-time 'json json/main.json /fechaCorte')

python3 "$HERE/genpackage.py" --files 300 --seed 7 --corte 2024-06-02T21:05:00-06:00 \
    "$W/good.tar.gz" >/dev/null 2>&1
expect 0 "a generated package is accepted" verify "${JSON_TIME[@]}" "$W/good.tar.gz"
has '^verdict: +accepted$' "it says accepted"
has '^files: +300$' "it counts the 300 files"
has '^corte time: +2024-06-02T21:05:00-06:00$' "it reads the corte time from json/main.json"
has "^sha256: +$(sha256sum "$W/good.tar.gz" | cut -c1-64)$" "it prints the package's SHA-256"
has '^banner: +Último corte: 02/06/2024 21:05 \(Tiempo del Centro, UTC-06:00\)$' "it shows the banner label"
expect 0 "--zone shows the time in another offset" verify "${JSON_TIME[@]}" --zone '-07:00 Pacífico' "$W/good.tar.gz"
has '^corte time: +2024-06-02T20:05:00-07:00$' "the corte time in -07:00"

expect 1 "--limits files=10 refuses 300 files" verify "${JSON_TIME[@]}" --limits 'files=10' "$W/good.tar.gz"
has '^reason: +limit-files$' "reason limit-files"
has '^message: +.+' "with a sentence"

# PrepCorteTime filename takes PCRE, as httpd's directives do: "\d" is a digit
cp "$W/good.tar.gz" "$W/prep_qro_20240602_2105.tar.gz"
expect 0 "PrepCorteTime filename with \\d (PCRE)" verify --corte-time 'filename (\d{8}_\d{4})' "$W/prep_qro_20240602_2105.tar.gz"
has '^corte time: +2024-06-02T21:05:00-06:00$' "it reads the time from the file name"
expect 0 "PrepCorteTime filename with (?i)" verify --corte-time 'filename (?i)^PREP_QRO_(\d{8}_\d{4})' "$W/prep_qro_20240602_2105.tar.gz"
has '^corte time: +2024-06-02T21:05:00-06:00$' "case-insensitive, as PCRE says"
expect 1 "a corte time pointer that is not there" verify --corte-time 'json json/main.json /noExiste' "$W/good.tar.gz"
has '^reason: +no-corte-time$' "reason no-corte-time"

# A corte two hours ahead of the clock (an institute's clock or zone
# mistake): refused as PrepFutureLimit says, taken with --future-limit off.
AHEAD=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
python3 "$HERE/genpackage.py" --files 50 --seed 8 --corte "$AHEAD" "$W/ahead.tar.gz" >/dev/null 2>&1
expect 1 "a corte 2 h ahead is refused" verify "${JSON_TIME[@]}" "$W/ahead.tar.gz"
has '^reason: +future-corte$' "reason future-corte"
has 'PrepFutureLimit 15 min' "the message names the limit"
expect 0 "--future-limit 3h takes it" verify "${JSON_TIME[@]}" --future-limit 3h "$W/ahead.tar.gz"
expect 0 "--future-limit off takes it" verify "${JSON_TIME[@]}" --future-limit off "$W/ahead.tar.gz"

# A tar made by tar(1) with a ../ entry (-P, or tar strips it).
mkdir -p "$W/t/a"
echo x >"$W/t/a/f.txt"
echo evil >"$W/t/evil.txt"
tar -P -C "$W/t/a" -czf "$W/dotdot.tar.gz" f.txt ../evil.txt  # -P keeps the ../
expect 1 "a tar with ../ is refused" verify "$W/dotdot.tar.gz"
has '^reason: +traversal$' "reason traversal"

# A symlink, from tar(1).
mkdir -p "$W/l"
echo x >"$W/l/f.txt"
ln -s /etc/passwd "$W/l/passwd"
tar -C "$W/l" -czf "$W/link.tar.gz" f.txt passwd
expect 1 "a tar with a symlink is refused" verify "$W/link.tar.gz"
has '^reason: +link$' "reason link"

head -c 4096 "$W/good.tar.gz" >"$W/truncated.tar.gz"
expect 1 "a truncated .tar.gz is refused" verify "$W/truncated.tar.gz"
has '^reason: +truncated$' "reason truncated"

head -c 20000 /dev/urandom >"$W/random.tar.gz"
expect 1 "random bytes are refused" verify "$W/random.tar.gz"
has '^reason: +not-an-archive$' "reason not-an-archive"

# --formats (PrepFormats): a 7-Zip package, by the real 7z.
if command -v 7z >/dev/null; then
    mkdir -p "$W/s" && tar -xzf "$W/good.tar.gz" -C "$W/s"
    (cd "$W/s" && 7z a -bd -bso0 -bse0 "$W/good.7z" . >/dev/null)
    expect 1 "a 7-Zip package is refused by default" verify "${JSON_TIME[@]}" "$W/good.7z"
    has '^reason: +not-an-archive$' "reason not-an-archive"
    has '^message: +7-Zip is not among PrepFormats \(tar, zip\)$' "the message names 7-Zip"
    expect 0 "--formats 'tar zip 7z' takes it" verify "${JSON_TIME[@]}" --formats 'tar zip 7z' "$W/good.7z"
    has '^files: +300$' "with its 300 files"
else
    echo "# no 7z (p7zip-full): --formats with 7z not tried"
fi
expect 1 "--formats 'zip' refuses a tar.gz" verify "${JSON_TIME[@]}" --formats zip "$W/good.tar.gz"
has '^message: +tar is not among PrepFormats \(zip\)$' "the message names tar"
expect 2 "--formats xar is refused" verify --formats 'tar xar' "$W/good.tar.gz"
has 'xar is never read' "it says why"

# PrepVerify sha256: the sidecar in sha256sum format.
cp "$W/good.tar.gz" "$W/v.tar.gz"
(cd "$W" && sha256sum v.tar.gz >v.tar.gz.sha256)
expect 0 "--verify sha256 with the right sidecar" verify "${JSON_TIME[@]}" --verify sha256 "$W/v.tar.gz"
echo "0000000000000000000000000000000000000000000000000000000000000000  v.tar.gz" >"$W/v.tar.gz.sha256"
expect 1 "--verify sha256 with a wrong sidecar" verify "${JSON_TIME[@]}" --verify sha256 "$W/v.tar.gz"
has '^reason: +verify$' "reason verify"

# PrepVerify signature: an ECDSA key made now, a detached signature by
# openssl dgst -sha256 -sign.
openssl ecparam -name prime256v1 -genkey -noout -out "$W/ec.key" 2>/dev/null
openssl ec -in "$W/ec.key" -pubout -out "$W/ec.pub" 2>/dev/null
openssl dgst -sha256 -sign "$W/ec.key" -out "$W/v.tar.gz.sig" "$W/v.tar.gz"
expect 0 "--verify-key with a good signature" verify "${JSON_TIME[@]}" --verify-key "$W/ec.pub" "$W/v.tar.gz"
openssl dgst -sha256 -sign "$W/ec.key" -out "$W/v.tar.gz.sig" "$W/dotdot.tar.gz"
expect 1 "--verify-key with a signature of other bytes" verify "${JSON_TIME[@]}" --verify-key "$W/ec.pub" "$W/v.tar.gz"
has '^reason: +verify$' "reason verify"

expect 2 "--verify-key with a file that is not a public key" verify --verify-key "$W/good.tar.gz" "$W/v.tar.gz"
has 'not a PEM public key' "it says the key is not a PEM public key"
# --- verify's options are the directives of <PrepFeed> -------------
# An option's value is the rest of its directive's line: refused with exit
# 2 (wrong usage) and the sentence configtest gives for that line, or
# accepted as configtest accepts it.  With httpd at hand, `httpd -t` reads
# the same line in a <PrepFeed> and must say the same (httpd adds the
# directive's usage to a sentence about the number of arguments).

CONFIGTEST=
MPM=$(ls "${HTTPD_MODULES:-/nonexistent}"/mod_mpm_event.so "${HTTPD_MODULES:-/nonexistent}"/mod_mpm_prefork.so 2>/dev/null | head -1 || true)
if [ -n "${HTTPD:-}" ] && [ -x "${HTTPD:-}" ] && [ -f "${PREP_SO:-}" ] && [ -n "$MPM" ]; then
    CONFIGTEST=1
    MPM_NAME=$(basename "$MPM" .so)
    MPM_NAME=${MPM_NAME#mod_}_module
else
    echo "# no httpd, its modules or mod_prep.so (HTTPD, HTTPD_MODULES, PREP_SO): prepctl's sentences not compared with httpd -t"
fi

# configtest LINE: httpd -t on a feed holding LINE; the sentence of its
# syntax error, or nothing, in $W/said (its whole output in $W/said.out).
configtest() {
    local d=$W/httpd
    mkdir -p "$d/incoming" "$d/store"
    {
        printf '%s\n' "ServerRoot \"$d\"" "DefaultRuntimeDir \"$d\"" "PidFile \"$d/httpd.pid\"" \
            "ErrorLog \"$d/error_log\"" "Listen 127.0.0.1:8" "ServerName 127.0.0.1" \
            "LoadModule $MPM_NAME \"$MPM\"" "LoadModule prep_module \"$PREP_SO\"" \
            "<PrepFeed t1>" "    PrepIncoming $d/incoming" "    PrepStore $d/store"
        printf '    %s\n' "$1"
        printf '%s\n' "</PrepFeed>"
    } >"$d/httpd.conf"
    "$HTTPD" -t -f "$d/httpd.conf" >"$W/said.out" 2>&1 || true
    sed -n '/Syntax error on line/{n;p;q}' "$W/said.out" >"$W/said"
}

# refused_as DIRECTIVE OPTION VALUE SENTENCE: `verify OPTION VALUE` exits 2
# saying SENTENCE, which configtest says of the line "DIRECTIVE VALUE".
refused_as() {
    local directive=$1 option=$2 value=$3 sentence=$4 said
    expect 2 "$option '$value' is refused" verify "$option" "$value" "$W/good.tar.gz"
    said=$(sed -n '1s/^prepctl: //p' "$W/out")
    if [ "$said" = "$sentence" ]; then ok "  saying: $sentence"; else
        not_ok "  it says \"$said\", not \"$sentence\""; fi
    if [ -n "$CONFIGTEST" ]; then
        configtest "$directive $value"
        said=$(cat "$W/said")
        case "$said" in
            "$sentence" | "$sentence, "*) ok "  httpd -t says the same of $directive $value" ;;
            *) cp "$W/said.out" "$W/out"; not_ok "  httpd -t says \"$said\" of $directive $value" ;;
        esac
    fi
}

# accepted_as DIRECTIVE OPTION VALUE [PATTERN]: `verify OPTION VALUE`
# accepts the good package (its output matching PATTERN), and httpd -t
# finds no syntax error in "DIRECTIVE VALUE".
accepted_as() {
    local directive=$1 option=$2 value=$3
    expect 0 "$option '$value' is taken" verify "${JSON_TIME[@]}" "$option" "$value" "$W/good.tar.gz"
    if [ -n "${4:-}" ]; then has "$4" "  as $directive takes it"; fi
    if [ -n "$CONFIGTEST" ]; then
        configtest "$directive $value"
        if [ ! -s "$W/said" ] && grep -q . "$W/said.out"; then ok "  httpd -t takes $directive $value too"; else
            cp "$W/said.out" "$W/out"; not_ok "  httpd -t refuses $directive $value"; fi
    fi
}

refused_as PrepStripComponents --strip -3 'PrepStripComponents: "-3" is not a number >= 0'
refused_as PrepStripComponents --strip 2x 'PrepStripComponents: "2x" is not a number >= 0'
refused_as PrepStripComponents --strip '1 2' 'PrepStripComponents takes one argument'
accepted_as PrepStripComponents --strip AUTO
refused_as PrepLimits --limits files=10q 'PrepLimits: limit files: "10q" is not a whole number'
refused_as PrepLimits --limits 'files=10 depth=5000' 'PrepLimits: limit depth 5000 is more than 4096'
accepted_as PrepLimits --limits 'files=100000 bytes=2G' '^files: +300$'
refused_as PrepCorteTime --corte-time 'xml main.xml //fecha' \
    'PrepCorteTime: "xml" with 2 argument(s): use json FILE POINTER | csv FILE LINE | filename REGEX | mtime'
refused_as PrepCorteTime --corte-time 'csv datos.csv 0' 'PrepCorteTime: "0" is not a line number (1..1000)'
refused_as PrepCorteTime --corte-time 'filename "prep_([0-9]"' \
    'PrepCorteTime: the regular expression "prep_([0-9]" is not valid: missing closing parenthesis at offset 11'
accepted_as PrepCorteTime --corte-time "json 'json/main.json' /fechaCorte" \
    '^corte time: +2024-06-02T21:05:00-06:00$'
refused_as PrepTimeZone --zone centro 'PrepTimeZone: offset "centro" is not like -06:00'
refused_as PrepTimeZone --zone '-07:00 Tiempo del Pacífico' 'PrepTimeZone takes 1-2 arguments'
accepted_as PrepTimeZone --zone '-07:00 "Tiempo del Pacífico"' \
    '^banner: +Último corte: 02/06/2024 20:05 \(Tiempo del Pacífico, UTC-07:00\)$'
refused_as PrepFutureLimit --future-limit 5x \
    'PrepFutureLimit: unrecognized duration (use e.g. 90, 90s, 5m, 1h, 2d)'
accepted_as PrepFutureLimit --future-limit OFF
refused_as PrepFormats --formats 'tar tgz' \
    'PrepFormats: unknown format "tgz" (archives: tar zip 7z cpio iso9660 cab lha rar ar; compressions: gzip bzip2 xz zstd lzma lzip lz4 compress)'
refused_as PrepFormats --formats '' 'PrepFormats requires at least one argument'
refused_as PrepVerify --verify md5 'PrepVerify: use none, sha256, or signature PUBKEY.pem'
refused_as 'PrepVerify signature' --verify-key "$W/no-such-key.pem" \
    "PrepVerify signature: cannot read the public key $W/no-such-key.pem: No such file or directory"

# --- prepctl audit -------------------------------------------------

# expect_split EXIT_CODE DESCRIPTION ARGS...: as expect, stdout in $W/out
# and stderr in $W/err.
expect_split() {
    local want=$1 what=$2 rc=0
    shift 2
    "$PREPCTL" "$@" >"$W/out" 2>"$W/err" || rc=$?
    if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else
        cat "$W/err" >>"$W/out"; not_ok "$what: exit $rc, want $want"; fi
}
# has_err PATTERN DESCRIPTION: the last standard error matches.
has_err() {
    if grep -Eq -- "$1" "$W/err"; then ok "$2"; else
        cp "$W/err" "$W/out"; not_ok "$2 (no /$1/ on stderr)"; fi
}
# only_lines DESCRIPTION LINE...: the last standard output is exactly these.
only_lines() {
    local what=$1
    shift
    if [ "$(cat "$W/out")" = "$(printf '%s\n' "$@")" ]; then ok "$what"; else
        not_ok "$what (want: $*)"; fi
}
# flip FILE OFFSET: changes one byte in place with dd; twice restores it.
flip() {
    local b
    b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' $((b ^ 0x5a)))" |
        dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}

mkdir -p "$W/feed/incoming"
python3 "$HERE/genpackage.py" --files 60 --seed 11 --corte 2024-06-02T21:05:00-06:00 \
    "$W/feed/incoming/PREP_QRO.tar.gz" >/dev/null 2>&1
mkdir -p "$W/pkg"
tar -C "$W/pkg" -xzf "$W/feed/incoming/PREP_QRO.tar.gz"
STORE=$W/feed/store
ID=$("$MKCORTE" "$STORE" "$W/feed/incoming/PREP_QRO.tar.gz" 'json json/main.json /fechaCorte' 2>"$W/err")
CORTE=$STORE/cortes/$ID
PACK=$CORTE/content.pack
cp "$PACK" "$W/pack.orig"
cp "$CORTE/corte.json" "$W/corte.json.orig"
MAIN=$(find "$W/pkg" -path '*/json/main.json' | head -1)

# Where json/main.json's bytes (as delivered) and its gzip variant lie in
# the pack: its bytes found once, the gzip member that inflates to them.
read -r ID_AT GZ_AT < <(python3 - "$PACK" "$MAIN" <<'PY'
import sys, zlib
pack = open(sys.argv[1], 'rb').read()
want = open(sys.argv[2], 'rb').read()
assert pack.count(want) == 1, "main.json's bytes are not once in the pack"
gz = -1
at = pack.find(b'\x1f\x8b\x08')
while at >= 0 and gz < 0:
    try:
        d = zlib.decompressobj(31)
        if d.decompress(pack[at:at + len(want) + 4096]) == want:
            gz = at
    except zlib.error:
        pass
    at = pack.find(b'\x1f\x8b\x08', at + 1)
print(pack.find(want) + len(want) // 2, gz + 20)
PY
)

expect_split 0 "audit of the current corte of a real load" audit --store "$STORE"
has '^corte: +'"$ID"'$' "it names the current corte"
has "^files: +$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' "$CORTE/corte.json")$" \
    "it counts corte.json's files"
has '^representations: +[0-9]+$' "it counts the representations"
# every byte of the pack but the package's dot files, which are not served
HIDDEN=$(find "$W/pkg" -type f -name '.*' -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')
has "^bytes checked: +$(($(stat -c %s "$PACK") - HIDDEN))$" "it checks every published byte of the pack"
has '^time: +[0-9]+ ms$' "it says how long it took"
expect_split 0 "audit FEED --store DIR" audit qro --store "$STORE"
has '^feed: +qro$' "it prints the FEED"
expect_split 0 "audit --store DIR ID" audit --store "$STORE" "$ID"
has '^corte: +'"$ID"'$' "it audits that corte"

flip "$PACK" "$ID_AT"
expect_split 1 "a byte changed in json/main.json as delivered" audit --store "$STORE"
only_lines "exactly that file is listed on stdout" "differs identity banner=0 json/main.json"
has_err "^prepctl: corte $ID is not as it was published" "with a sentence on stderr"
flip "$PACK" "$ID_AT"
expect_split 0 "the byte restored: clean again" audit --store "$STORE"

flip "$PACK" "$GZ_AT"
expect_split 1 "a byte changed in json/main.json's gzip variant" audit qro --store "$STORE" "$ID"
only_lines "exactly its gzip variant is listed" "differs gzip banner=0 json/main.json"
flip "$PACK" "$GZ_AT"
cmp -s "$PACK" "$W/pack.orig" && ok "dd restored the pack byte for byte" || not_ok "the pack is not restored"
expect_split 0 "restored: clean" audit --store "$STORE"

truncate -s -1000 "$PACK"
expect_split 1 "a pack cut short by 1000 bytes" audit --store "$STORE"
has '^outside-pack [a-z]+ banner=[0-9]+ .+' "the files past its end are listed"
has_err "not as it was published" "with a sentence on stderr"
cp "$W/pack.orig" "$PACK"

echo '{"id": "'"$ID"'", "files": ' >"$CORTE/corte.json"
expect_split 1 "corte.json that is not JSON" audit --store "$STORE"
has_err '^prepctl: corte.json cannot be read' "it says corte.json cannot be read"
if [ ! -s "$W/out" ]; then ok "no file is listed: the bytes are fine"; else not_ok "files listed for a corte.json problem"; fi
sed 's/"files": [0-9]*/"files": 1/' "$W/corte.json.orig" >"$CORTE/corte.json"
expect_split 1 "corte.json with the wrong number of files" audit --store "$STORE"
has_err 'says 1 files but index.prep has' "it says the counts differ"
sed 's/"id": "[^"]*"/"id": "20000101T000000Z-00000000"/' "$W/corte.json.orig" >"$CORTE/corte.json"
expect_split 1 "corte.json naming another corte" audit --store "$STORE"
has_err 'says id 20000101T000000Z-00000000' "it says the id differs"
cp "$W/corte.json.orig" "$CORTE/corte.json"
expect_split 0 "corte.json restored: clean" audit --store "$STORE"

expect_split 2 "audit without --store" audit qro
expect_split 2 "audit of a corte ID not in the store" audit --store "$STORE" 20000101T000000Z-00000000
has_err 'not in' "it says the corte is not there"
mkdir -p "$W/empty-store"
expect_split 2 "audit of a store with no current corte" audit --store "$W/empty-store"
has_err 'no current corte' "it says there is no current corte"
expect_split 2 "audit with an unknown option" audit --store "$STORE" --quick
expect_split 2 "audit with two FEEDs" audit qro jal --store "$STORE"
mv "$CORTE" "$W/moved"
expect_split 1 "audit when the current corte's directory is gone" audit --store "$STORE"
has_err "the current corte $ID is not in" "it says the current corte is missing"
mv "$W/moved" "$CORTE"
mv "$CORTE/index.prep" "$W/index.prep"
expect_split 1 "audit when the current corte has no index.prep" audit --store "$STORE"
has_err "index.prep cannot be opened" "it says the index cannot be opened"
mv "$W/index.prep" "$CORTE/index.prep"
expect_split 0 "the index back: clean" audit --store "$STORE"

# ---------------------------------------------------------------- report
# `prepctl report` on a store without a journal (--store) and a small log:
# what it counts, the files, the notices, and its refusals and usage.
RS="$W/report-store"; mkdir -p "$RS"
printf '%s\n' \
  '10.0.0.1 - - [02/Jun/2024:21:05:00 -0600] "GET /prep/qro/index.html HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (iPhone)"' \
  '10.0.0.1 - - [02/Jun/2024:21:06:00 -0600] "GET /prep/qro/json/main.json HTTP/1.1" 200 2048 "-" "Mozilla/5.0 (iPhone)"' \
  '10.0.0.3 - - [02/Jun/2024:21:06:30 -0600] "GET /otra/index.html HTTP/1.1" 200 10 "-" "Mozilla/5.0 (iPhone)"' \
  'garbage' >"$W/a.log"
gzip -c "$W/a.log" >"$W/a.log.1.gz"
expect 0 "report with --store and a log" report qro --store "$RS" --location /prep/qro --log "$W/a.log" --out "$W/memoria" --from 2024-06-02 --to 2024-06-03T00:00
has '^hits: +2$' "it counts the 2 hits under the Location"
has '^pages: +1$' "and 1 page"
has 'aviso: No se encontró el journal' "it says there is no journal"
has 'aviso: 1 línea de las bitácoras no tiene un formato' "it says 1 line was unparsable, in the singular"
has "^written: +$W/memoria/memoria.html$" "it wrote memoria.html"
for f in memoria.json resumen.csv paginas.csv horas.csv dias.csv codigos.csv duraciones.csv trafico_por_corte.csv cortes.csv incidencias.csv; do
    if [ -s "$W/memoria/$f" ]; then ok "$f written"; else not_ok "$f not written"; fi
done
expect 0 "the plain log and its .gz copy, merged" report qro --store "$RS" --location /prep/qro --log "$W/a.log" "$W/a.log.1.gz" --out "$W/memoria2" --format json
has '^hits: +4$' "both files counted"
if [ ! -e "$W/memoria2/memoria.html" ] && [ -s "$W/memoria2/memoria.json" ]; then ok "--format json writes only memoria.json"; else not_ok "--format json"; fi
expect 0 "--from in the feed's zone leaves the night out" report qro --store "$RS" --log "$W/a.log" --out "$W/memoria3" --from 2024-06-02T21:05:30
has '^hits: +2$' "the requests from 21:05:30 -06:00 on (every path)"
has 'aviso: No se conocen las Location' "every path counted, and said"
expect 1 "a log that cannot be opened" report qro --store "$RS" --log "$W/none.log" --out "$W/memoria4"
has 'none.log' "the refusal names the log"
if [ ! -e "$W/memoria4" ]; then ok "nothing written"; else not_ok "something was written"; fi
expect 1 "a notes file that cannot be read" report qro --store "$RS" --notes "$W/none.txt" --out "$W/memoria4"
expect 1 "an unknown feed without a runtime file" report qro --feeds "$W/none.json"
expect 2 "report without FEED" report --store "$RS"
expect 2 "a bad --from" report qro --store "$RS" --from 2024-13-01
expect 2 "a bad --format" report qro --store "$RS" --format pdf
expect 2 "a bad --visit-timeout" report qro --store "$RS" --visit-timeout soon
expect 2 "--to before --from" report qro --store "$RS" --from 2024-06-03 --to 2024-06-02

# --- prepctl verify --base: incremental packages --------------------
# A base corte loaded by tests/mkcorte from a package made with tar, then
# incremental packages over it (a changed file, a new one, a deleted one).
IW=$W/incr
mkdir -p "$IW/incoming" "$IW/full/prep/json" "$IW/full/prep/csv"
echo '{"fechaCorte": "2024-06-02T21:05:00-06:00"}' >"$IW/full/prep/json/main.json"
echo '<html><body>Resultados</body></html>' >"$IW/full/prep/index.html"
seq 1 5000 >"$IW/full/prep/csv/casillas.csv"
echo viejo >"$IW/full/prep/csv/viejo.csv"
tar -C "$IW/full" -czf "$IW/incoming/full.tar.gz" prep
BASE_ID=$("$MKCORTE" "$IW/store" "$IW/incoming/full.tar.gz" 'json json/main.json /fechaCorte' 2>"$W/err")
BASE_DIR=$IW/store/cortes/$BASE_ID
# incr NAME BASE DELETED: an incremental package NAME.tar.gz over BASE
incr() {
    rm -rf "$IW/$1"
    mkdir -p "$IW/$1/prep/json" "$IW/$1/prep/csv"
    echo '{"fechaCorte": "2024-06-02T21:10:00-06:00"}' >"$IW/$1/prep/json/main.json"
    echo nuevo >"$IW/$1/prep/csv/nuevo.csv"
    printf '{"base": "%s", "deleted": %s}' "$2" "$3" >"$IW/$1/prep/prep-incremental.json"
    tar -C "$IW/$1" -czf "$IW/$1.tar.gz" prep
}
V=(verify "${JSON_TIME[@]}")
incr good "$BASE_ID" '["csv/viejo.csv"]'
expect 0 "an incremental package over its base (a corte directory)" "${V[@]}" --base "$BASE_DIR" "$IW/good.tar.gz"
has "^incremental: over $BASE_ID\$" "it says it is incremental, over which corte"
has "^base: +$BASE_ID\$" "it names the base checked against"
has '^files: +4$' "the merged corte's files: main.json, nuevo.csv, index.html, casillas.csv"
has '^carried: +2$' "two files carried"
has '^kept: +2$' "two kept from the base"
has '^deleted: +1$' "one deleted"
has '^corte time: +2024-06-02T21:10:00-06:00$' "the corte time of the merged tree"
expect 0 "--base ID --store DIR" "${V[@]}" --base "$BASE_ID" --store "$IW/store" "$IW/good.tar.gz"
has "^base: +$BASE_ID\$" "the same base"
incr other 20240603T030000Z-00000000 '[]'
expect 1 "an incremental package over another corte" "${V[@]}" --base "$BASE_DIR" "$IW/other.tar.gz"
has '^reason: +base-mismatch$' "refused as base-mismatch"
has "not over the base corte given $BASE_ID" "the message names the base given"
incr baddel "$BASE_ID" '["csv/nunca.csv"]'
expect 1 "a deletion the base does not hold" "${V[@]}" --base "$BASE_DIR" "$IW/baddel.tar.gz"
has '^reason: +incremental$' "refused as incremental"
has 'deletes "csv/nunca.csv", which the base corte' "the message names the path"
incr badkey "$BASE_ID" '[], "borrar": []'
expect 1 "a manifest with an unknown key, without --base" "${V[@]}" "$IW/badkey.tar.gz"
has '^reason: +incremental$' "refused as incremental alone too"
rm "$IW/good/prep/json/main.json"
tar -C "$IW/good" -czf "$IW/alone.tar.gz" prep
expect 0 "alone, an incremental package without the corte time's file" "${V[@]}" "$IW/alone.tar.gz"
has "is an incremental package over corte $BASE_ID" "prepctl says which base it needs"
has '^corte time: +\?$' "no corte time of its own"
expect 0 "over its base, the same package" "${V[@]}" --base "$BASE_DIR" "$IW/alone.tar.gz"
has '^corte time: +2024-06-02T21:05:00-06:00$' "the base's json/main.json gives the corte time"
tar -C "$IW/full" -czf "$IW/full2.tar.gz" prep
expect 0 "a full package with --base is checked alone" "${V[@]}" --base "$BASE_DIR" "$IW/full2.tar.gz"
has 'is a full package' "and prepctl says so"
expect 2 "--store without --base" "${V[@]}" --store "$IW/store" "$IW/good.tar.gz"
expect 2 "a --base that is no corte" "${V[@]}" --base "$IW" "$IW/good.tar.gz"

expect 2 "no command"
expect 2 "an unknown option" verify --no-such-option x "$W/good.tar.gz"
expect 2 "no package" verify
expect 2 "a bad --limits" verify --limits 'files=lots' "$W/good.tar.gz"
expect 0 "--help" --help
has '^SYNOPSIS' "--help is a manual page"
has 'EXIT STATUS' "--help documents the exit status"
has 'prepctl audit \[FEED\] --store DIR \[ID\]' "--help shows audit"

echo "1..$N"
[ "$FAILS" = 0 ]
