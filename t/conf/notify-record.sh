#!/bin/sh
# t/conf/notify-record.sh DIR EVENT FEED [CORTE_ID] — the PrepNotify command
# of the feed aviso (t/22_notify.t).  Each run writes DIR/NNNN.rec (NNNN
# counts the runs): its arguments, `id -u`, its pid, the names of its
# environment, the PREP_* variables, and the X-PREP-Corte* headers the
# server gives at that moment for the URL in DIR/url (when there is one).
# Then it does what DIR says: DIR/fail → says why on stderr and exits 3;
# DIR/hang → removes it and sleeps 60 s (once).
dir=$1
shift
mkdir -p "$dir" || exit 1
n=$(cat "$dir/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$dir/count"
rec=$(printf '%s/%04d.rec' "$dir" "$n")
{
    echo "argc=$#"
    for a in "$@"; do
        printf 'arg=%s\n' "$a"
    done
    echo "uid=$(id -u)"
    echo "pid=$$"
    echo "cwd=$(pwd)"
    echo "started=$(date +%s.%N)"
    printf 'envnames='
    env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | tr '\n' ' '
    echo
    for v in PATH LANG PREP_EVENT PREP_FEED PREP_AT PREP_CORTE_ID \
        PREP_CORTE_TIME PREP_PACKAGE PREP_PACKAGE_PATH PREP_REASON \
        PREP_MESSAGE PREP_USER PREP_SERVED_ID PREP_SERVED_TIME PREP_STORE \
        PREP_INCOMING PREP_DRILL PREP_JOURNAL; do
        eval "printf '%s=%s\n' $v \"\${$v-}\""
    done
    if [ -s "$dir/url" ]; then
        curl -s -m 5 -o /dev/null -D - "$(cat "$dir/url")" | tr -d '\r' |
            sed -n 's/^\([Xx]-[Pp][Rr][Ee][Pp]-[Cc][Oo][Rr][Tt][Ee]\(-[Ii][Dd]\)\{0,1\}\): */hdr \1=/p'
    fi
} >"$rec.tmp"
mv "$rec.tmp" "$rec"
if [ -e "$dir/fail" ]; then
    echo "falla adrede ($1)" >&2
    exit 3
fi
echo "registrado $n $1"
if [ -e "$dir/hang" ]; then
    rm -f "$dir/hang"
    echo "colgado"
    sleep 60
fi
exit 0
