#!/usr/bin/env bash
# tests/prepctl.sh — `prepctl verify` on real packages made by real tools:
# a generated package is accepted with its files, bytes and corte time; a
# package refused by a rule exits 1 with the reason code; wrong usage exits
# 2; PrepVerify sha256 and signature work offline as in the module.  Run by
# `make check` (PREPCTL names the binary; default ./prepctl).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PREPCTL=${PREPCTL:-$HERE/../prepctl}
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

expect 1 "a corte time pointer that is not there" verify --corte-time 'json json/main.json /noExiste' "$W/good.tar.gz"
has '^reason: +no-corte-time$' "reason no-corte-time"

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
expect 2 "no command"
expect 2 "an unknown option" verify --no-such-option x "$W/good.tar.gz"
expect 2 "no package" verify
expect 2 "a bad --limits" verify --limits 'files=lots' "$W/good.tar.gz"
expect 0 "--help" --help
has '^SYNOPSIS' "--help is a manual page"
has 'EXIT STATUS' "--help documents the exit status"

echo "1..$N"
[ "$FAILS" = 0 ]
