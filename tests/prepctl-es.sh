#!/usr/bin/env bash
# tests/prepctl-es.sh — prepctl speaks Spanish when the locale is Spanish
# and English otherwise (gettext, domain mod_prep, po/es.po):
#   - po/es.po translates every message of the sources: msgfmt -c says 0
#     untranslated and 0 fuzzy, for the catalogue as it is and merged with
#     the messages xgettext extracts from po/POTFILES.in now (a message
#     wrapped in _() and not translated fails here);
#   - under LANG=es_MX.UTF-8 (the locale generated with localedef into a
#     temporary LOCPATH when the system has none) and under LANGUAGE=es
#     with LANG=C.UTF-8: --help in Spanish, naming every command and option
#     the English one names; a usage error and refusals (verify, status,
#     reset) in Spanish, with the same exit codes as in English;
#   - the records stay as they are in every locale (prepctl.h's rule):
#     verify's lines and the status screen are byte-identical in Spanish;
#   - under LANG=C, LC_ALL=C (even with LANGUAGE=es), LC_ALL=C.UTF-8 and
#     en_US.UTF-8 (when installed), every output is byte-identical to the
#     one prepctl gives without any catalogue: its English source text.
# Run by `make check` with PREPCTL (the built binary), PREPCTL_LOCALEDIR
# (the build's po/locale), NLS_LINGUAS, XGETTEXT, MSGMERGE and MSGFMT; exit
# 77 (skipped) when prepctl was configured with --disable-nls.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${srcdir:-$HERE/..}
SRC=$(cd "$SRC" && pwd)
[ -d "$SRC/po" ] || SRC=$(cd "$HERE/.." && pwd)
PREPCTL=${PREPCTL:-$HERE/../prepctl}
MSGFMT=${MSGFMT:-msgfmt}
MSGMERGE=${MSGMERGE:-msgmerge}
XGETTEXT=${XGETTEXT:-xgettext --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=ngettext:1,2}
: "${PREPCTL_LOCALEDIR:=$HERE/../po/locale}"
export PREPCTL_LOCALEDIR

case " ${NLS_LINGUAS-es} " in
*" es "*) ;;
*) echo "1..0 # SKIP prepctl built without NLS (configure --disable-nls)"; exit 77 ;;
esac

W=$(mktemp -d /tmp/prepctl-es.XXXXXX)
chmod 755 "$W"  # the loader account reads the store in it
trap 'rm -rf "$W"' EXIT
FAILS=0
N=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
    N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $1"
    if [ -s "$W/out" ]; then sed 's/^/#   /' "$W/out" | head -20; fi
}

# ---------------------------------------------------------------- catalogue
# stats FILE: msgfmt -c's statistics of a catalogue ("76 translated messages.")
stats() { LC_ALL=C $MSGFMT -c --statistics -o /dev/null "$1" 2>&1; }
complete() {
    local what=$1 s
    s=$(stats "$2") || { echo "$s" >"$W/out"; not_ok "$what: msgfmt -c refuses it"; return; }
    echo "$s" >"$W/out"
    if echo "$s" | grep -q 'translated message' && ! echo "$s" | grep -Eq 'untranslated|fuzzy'; then
        ok "$what: $s"
    else
        not_ok "$what: not every message is translated ($s)"
    fi
}
complete "po/es.po" "$SRC/po/es.po"
# the messages of the sources now, merged into es.po
(cd "$SRC" && $XGETTEXT --files-from=po/POTFILES.in -o "$W/now.pot")
$MSGMERGE --quiet --no-fuzzy-matching -o "$W/merged.po" "$SRC/po/es.po" "$W/now.pot"
complete "po/es.po merged with the messages of the sources" "$W/merged.po"

# ---------------------------------------------------------------- the locales
# An es_MX.UTF-8 locale: the system's, or one made now by localedef (from
# the locales package's definitions) into a LOCPATH of our own.
ES_ENV=()
if locale -a 2>/dev/null | grep -qix 'es_MX\.utf-\?8'; then
    ES_ENV=(LANG=es_MX.UTF-8)
    ok "the system has es_MX.UTF-8"
elif mkdir -p "$W/locale" && localedef -i es_MX -f UTF-8 "$W/locale/es_MX.UTF-8" >"$W/out" 2>&1 ||
     [ -e "$W/locale/es_MX.UTF-8/LC_MESSAGES" ]; then
    ES_ENV=(LOCPATH="$W/locale" LANG=es_MX.UTF-8)
    ok "es_MX.UTF-8 made by localedef into a temporary LOCPATH"
else
    not_ok "no es_MX.UTF-8 locale and localedef cannot make one (install Debian's locales package)"
fi
# run ENV... -- ARGS...: prepctl with that environment only (LANGUAGE and
# LC_* of the caller removed), stdout in $W/out, stderr in $W/err, exit in $RC
RC=0
run() {
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    RC=0
    env -u LANGUAGE -u LC_ALL -u LC_MESSAGES -u LANG -u LOCPATH "${envs[@]}" \
        PREPCTL_LOCALEDIR="$PREPCTL_LOCALEDIR" "$PREPCTL" "$@" >"$W/out" 2>"$W/err" </dev/null || RC=$?
}
has() { if grep -Eq -- "$1" "$W/out"; then ok "$2"; else not_ok "$2 (no /$1/ on stdout)"; fi; }
has_err() { if grep -Eq -- "$1" "$W/err"; then ok "$2"; else cp "$W/err" "$W/out"; not_ok "$2 (no /$1/ on stderr)"; fi; }
rc_is() { if [ "$RC" = "$1" ]; then ok "$2 (exit $RC)"; else not_ok "$2: exit $RC, want $1"; fi; }

# the fixtures: a real package, a store owned by the loader account
python3 "$HERE/genpackage.py" --files 20 --seed 5 --corte 2024-06-02T21:05:00-06:00 \
    "$W/good.tar.gz" >/dev/null 2>&1
mkdir -p "$W/qro/store"
if [ "$(id -u)" = 0 ]; then chown -R nobody: "$W/qro"; fi
STORE=(--store "$W/qro/store" --feeds "$W/none.json")

# The same invocations in every locale: their exit codes must agree, and
# each one's stdout and stderr are compared between the English locales.
CASES=(
    "--help"
    ""
    "frobnicate"
    "verify"
    "verify a b"
    "verify --zone"
    "verify --bogus x p"
    "verify --corte-time json_json/main.json_/fechaCorte $W/good.tar.gz"
    "verify --limits files=5 $W/good.tar.gz"
    "status nope --feeds $W/none.json"
    "status qro ${STORE[*]}"
    "drill qro maybe ${STORE[*]}"
    "events qro --since ayer ${STORE[*]}"
    "reset qro ${STORE[*]}"
    "audit --store $W/qro/store"
    "report qro --format pdf"
    "report qro --from ayer ${STORE[*]}"
)
# case_args CASE: its words (a _ inside a word stands for a space)
case_args() { local w; ARGS=(); for w in $1; do ARGS+=("${w//_/ }"); done; }

for loc in es-LANG es-LANGUAGE; do
    if [ "$loc" = es-LANG ]; then
        E=("${ES_ENV[@]}")
        [ ${#E[@]} -gt 0 ] || continue
    else
        E=(LANG=C.UTF-8 LANGUAGE=es)
    fi
    echo "# under ${E[*]}"
    run "${E[@]}" -- --help
    rc_is 0 "$loc: --help"
    has '^NOMBRE$' "$loc: --help in Spanish (NOMBRE)"
    has '^SINOPSIS$' "$loc: SINOPSIS"
    has '^CÓDIGOS DE SALIDA$' "$loc: CÓDIGOS DE SALIDA, in UTF-8"
    has 'prepctl - opera los feeds de mod_prep en la noche de la elección' "$loc: what prepctl is, in Spanish"
    if ! grep -q 'election night\|Each option is\|wrong usage' "$W/out"; then ok "$loc: no English sentence left in --help"
    else not_ok "$loc: English sentences in the Spanish --help"; fi
    if awk 'length($0) > 80 { bad = 1 } END { exit bad }' "$W/out"; then ok "$loc: every line of the help fits 80 columns"
    else not_ok "$loc: a line of the help is wider than 80 columns"; fi
    cp "$W/out" "$W/help.es"
    run LANG=C -- --help
    missing=$(grep -oE -- '--[a-z][a-z-]+|\b(status|cortes|events|rollback|pin|unpin|reset|close|drill|report|verify|audit)\b' "$W/out" |
        sort -u | while read -r w; do grep -qF -- "$w" "$W/help.es" || echo "$w"; done)
    if [ -z "$missing" ]; then ok "$loc: the Spanish --help names every command and option the English one does"
    else not_ok "$loc: the Spanish --help lacks: $missing"; fi

    run "${E[@]}" -- drill qro maybe "${STORE[@]}"
    rc_is 2 "$loc: a usage error"
    has_err "^prepctl: drill necesita on u off después del FEED$" "$loc: the usage error in Spanish"
    has_err "^Pruebe 'prepctl --help'\.$" "$loc: and the hint to --help"
    run "${E[@]}" -- frobnicate
    rc_is 2 "$loc: an unknown command"
    has_err '^prepctl: comando desconocido frobnicate$' "$loc: it says so in Spanish"
    has_err '^prepctl: los comandos son status, cortes, .* verify y audit$' "$loc: and names the commands"

    run "${E[@]}" -- verify --bogus x "$W/good.tar.gz"
    rc_is 2 "$loc: verify refuses an unknown option"
    has_err '^prepctl: opción desconocida --bogus$' "$loc: verify's refusal in Spanish"
    run "${E[@]}" -- verify "$W/good.tar.gz" "$W/good.tar.gz"
    rc_is 2 "$loc: verify refuses two packages"
    has_err '^prepctl: verify recibe un solo paquete$' "$loc: saying so in Spanish"
    run "${E[@]}" -- verify --limits files=5 "$W/good.tar.gz"
    rc_is 1 "$loc: verify refuses a package over PrepLimits"
    has '^verdict: +refused$' "$loc: its record keeps the English labels (verdict: refused)"
    has '^reason: +limit-files$' "$loc: and the reason code"

    run "${E[@]}" -- status nope --feeds "$W/none.json"
    rc_is 1 "$loc: status without a runtime file is refused"
    has_err "^prepctl: no se encontró mod_prep-feeds\.json \(se buscó en $W/none\.json\); ¿está Apache en marcha con mod_prep\?" \
        "$loc: the refusal in Spanish"
    run "${E[@]}" -- reset qro "${STORE[@]}"
    rc_is 1 "$loc: reset without a terminal and without --yes is refused"
    has_err "^prepctl: reset mueve cada corte y cada paquete de qro a $W/qro/store/archive/; sin una terminal para confirmarlo, dé --yes; no se cambió nada$" \
        "$loc: the refusal in Spanish"
    run "${E[@]}" -- report qro --from ayer "${STORE[@]}"
    rc_is 2 "$loc: report with a bad --from"
    has_err '^prepctl: --from "ayer" no es una hora como ' "$loc: said in Spanish"

    # the records: identical in Spanish and in English
    for c in "verify --corte-time json_json/main.json_/fechaCorte $W/good.tar.gz" "status qro ${STORE[*]}" "cortes qro ${STORE[*]}"; do
        case_args "$c"
        run "${E[@]}" -- "${ARGS[@]}"; cp "$W/out" "$W/rec.es"; rc_es=$RC
        run LANG=C -- "${ARGS[@]}"
        if [ "$rc_es" = "$RC" ] && cmp -s "$W/rec.es" "$W/out"; then ok "$loc: prepctl ${ARGS[0]}: stdout as in English (exit $RC)"
        else not_ok "$loc: prepctl ${ARGS[0]}: stdout or exit differs from English"; fi
    done

    # every case exits as in English
    diff_rc=
    for c in "${CASES[@]}"; do
        case_args "$c"
        run LANG=C -- "${ARGS[@]}"; rc_en=$RC
        run "${E[@]}" -- "${ARGS[@]}"
        [ "$RC" = "$rc_en" ] || diff_rc="$diff_rc [$c: $RC, English $rc_en]"
    done
    if [ -z "$diff_rc" ]; then ok "$loc: the ${#CASES[@]} cases exit as in English"
    else not_ok "$loc: exit codes differ:$diff_rc"; fi
done

# ---------------------------------------------------------------- English
# Without a catalogue at all, prepctl prints its source text; with the
# catalogue, every non-Spanish locale must print exactly that.
EN_ENVS=("LANG=C" "LC_ALL=C LANGUAGE=es" "LANG=C LANGUAGE=es" "LC_ALL=C.UTF-8" "LANG=C.UTF-8" "LANG=POSIX")
if locale -a 2>/dev/null | grep -qix 'en_US\.utf-\?8'; then EN_ENVS+=("LANG=en_US.UTF-8"); fi
mkdir -p "$W/no-catalogue"
i=0
for c in "${CASES[@]}"; do
    i=$((i + 1))
    case_args "$c"
    RC=0
    env -u LANGUAGE -u LC_ALL -u LC_MESSAGES -u LANG -u LOCPATH LANG=C PREPCTL_LOCALEDIR="$W/no-catalogue" \
        "$PREPCTL" "${ARGS[@]}" >"$W/ref.$i.out" 2>"$W/ref.$i.err" </dev/null || RC=$?
    echo "$RC" >"$W/ref.$i.rc"
done
for e in "${EN_ENVS[@]}"; do
    read -ra E <<<"$e"
    differ=
    i=0
    for c in "${CASES[@]}"; do
        i=$((i + 1))
        case_args "$c"
        run "${E[@]}" -- "${ARGS[@]}"
        if [ "$RC" != "$(cat "$W/ref.$i.rc")" ] || ! cmp -s "$W/out" "$W/ref.$i.out" || ! cmp -s "$W/err" "$W/ref.$i.err"; then
            differ="$differ [$c]"
        fi
    done
    if [ -z "$differ" ]; then ok "$e: the ${#CASES[@]} cases print the English source text, byte for byte"
    else not_ok "$e: output differs from the English text:$differ"; fi
done
run LANG=C -- verify
has_err "^prepctl: verify needs a PACKAGE$" "LANG=C: the usage error in English"
has_err "^Try 'prepctl --help'\.$" "LANG=C: and the English hint"
run LANG=C -- --help
has '^NAME$' "LANG=C: --help in English"

echo "1..$N"
[ "$FAILS" = 0 ]
