#!/usr/bin/env bash
# tests/manpages.sh — the man pages prepctl(1) and mod_prep(8) render
# without a single warning (groff -man -ww, and man -l as man-db runs it,
# in the C and a UTF-8 locale, no rendered line wider than 80 columns), and
# they keep up with the truth: every directive of docs/directives.md (its
# "### Prep..." headings, <PrepFeed> and the SetHandler ones) has an entry
# in mod_prep.8, every Prep... word of mod_prep.8 is a directive there;
# every command of `prepctl --help` has a synopsis and an entry in
# prepctl.1, each synopsis gives that command's options as --help does,
# and every option --help names (its usage lines and its option lists)
# has an entry in the OPTIONS of prepctl.1.  Run by `make check` (PREPCTL
# names the binary).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$HERE/..
PREPCTL=${PREPCTL:-$TOP/prepctl}
PAGES=("$TOP/man/prepctl.1" "$TOP/man/mod_prep.8")
W=$(mktemp -d /tmp/manpages.XXXXXX)
trap 'rm -rf "$W"' EXIT
FAILS=0
N=0

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
    N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $1"
    if [ -n "${2:-}" ]; then sed 's/^/#   /' <<<"$2"; fi
}
check() { # check DESCRIPTION OUTPUT: ok when OUTPUT is empty
    if [ -z "$2" ]; then ok "$1"; else not_ok "$1" "$2"; fi
}

wider_than_80() { # the lines of FILE over 80 characters (not bytes)
    local LC_ALL=C.UTF-8 line i=0
    while IFS= read -r line; do
        i=$((i + 1))
        if [ "${#line}" -gt 80 ]; then printf '%d: %s\n' "$i" "$line"; fi
    done <"$1"
}

for tool in groff man; do
    if ! command -v "$tool" >/dev/null; then
        echo "Bail out! $tool is not installed (Debian: groff-base, man-db)"
        exit 1
    fi
done

# ---------------------------------------------------------------- rendering
for page in "${PAGES[@]}"; do
    name=$(basename "$page")
    [ -s "$page" ] || { not_ok "$name exists"; continue; }
    # groff itself, every warning on (-ww), for a terminal
    out=$(groff -man -Tutf8 -ww -z "$page" 2>&1 || echo "groff exited $?")
    check "$name: groff -man -ww -z says nothing" "$out"
    # as `man` shows it, in the C locale (ASCII) and in UTF-8
    for loc in C C.UTF-8; do
        out=$(LC_ALL=$loc MANWIDTH=80 MAN_KEEP_FORMATTING= \
              man --warnings=w -l "$page" 2>&1 >"$W/$name.$loc.txt" \
              || echo "man exited $?")
        check "$name: man --warnings -l in LC_ALL=$loc says nothing" "$out"
        [ -s "$W/$name.$loc.txt" ] || not_ok "$name: man -l in $loc renders text"
        wide=$(wider_than_80 "$W/$name.$loc.txt")
        check "$name: no line wider than 80 columns in $loc" "$wide"
    done
    # mandoc, when it is there, is stricter about style
    if command -v mandoc >/dev/null; then
        out=$(mandoc -Tlint -Wwarning "$page" 2>&1 || true)
        check "$name: mandoc -Tlint -Wwarning says nothing" "$out"
    fi
done

# the text as read on a UTF-8 terminal, for the checks below
MOD=$W/mod_prep.8.C.UTF-8.txt
CTL=$W/prepctl.1.C.UTF-8.txt
LC_ALL=C "$PREPCTL" --help >"$W/help.txt"

# ---------------------------------------------------------------- the contents
rc=0
python3 - "$N" "$W/count" "$TOP/docs/directives.md" "$TOP/man/mod_prep.8" \
    "$MOD" "$CTL" "$W/help.txt" <<'EOF' || rc=$?
import html
import re
import sys

start, count_file, directives_md, mod_src, mod_txt, ctl_txt, help_txt = sys.argv[1:]
n = int(start)
fails = 0


def result(good, what, detail=""):
    global n, fails
    n += 1
    print(("ok" if good else "not ok") + " %d - %s" % (n, what))
    if not good:
        fails += 1
        for line in detail.splitlines():
            print("#   " + line)


def section(lines, title):
    """The lines of a rendered page's section TITLE (a line at column 0)."""
    out, inside = [], False
    for line in lines:
        if line and not line[0].isspace():
            inside = line.strip() == title
            continue
        if inside:
            out.append(line)
    return out


def entries(lines):
    """The tags of a rendered section: text that starts at column 7."""
    return [l[7:] for l in lines if re.match(r"^ {7}\S", l)]


def blocks(lines, word):
    """Lines starting with WORD at column 7, each joined with the lines
    indented further that follow it (a wrapped synopsis)."""
    out, open_ = [], False
    for line in lines:
        if re.match(r"^ {7}%s( |$)" % re.escape(word), line):
            out.append(line.strip())
            open_ = True
        elif open_ and re.match(r"^ {8,}\S", line):
            out[-1] += " " + line.strip()
        else:
            open_ = False
    return out


def options(text):
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text))


mod = open(mod_txt, encoding="utf-8").read().splitlines()
ctl = open(ctl_txt, encoding="utf-8").read().splitlines()
help_lines = open(help_txt, encoding="utf-8").read().splitlines()

# -- mod_prep.8: every directive of docs/directives.md --------------------
headings = []
for line in open(directives_md, encoding="utf-8"):
    m = re.match(r"^#{2,3} (.*\S)\s*$", line)
    if m:
        h = html.unescape(m.group(1))
        if re.match(r"^(<?Prep\w+>?|SetHandler prep[\w-]*)$", h):
            headings.append(h)
result(len(headings) >= 30, "docs/directives.md names %d directives" % len(headings))
tags = entries(section(mod, "DIRECTIVES"))
missing = []
for h in headings:
    bare = h.strip("<>")
    pat = r"^<%s[ >]" % re.escape(bare) if h.startswith("<") else \
        r"^%s( |$)" % re.escape(bare)
    if not any(re.match(pat, t) for t in tags):
        missing.append(h)
result(not missing, "every directive of docs/directives.md has an entry in "
       "DIRECTIVES of mod_prep.8", "missing: " + ", ".join(missing))

names = {h.strip("<>").split()[0] for h in headings}
src = open(mod_src, encoding="utf-8").read()
unknown = sorted({w for w in re.findall(r"\bPrep[A-Z][A-Za-z]+", src)} - names)
result(not unknown, "every Prep... word of mod_prep.8 is a directive of "
       "docs/directives.md", "unknown: " + ", ".join(unknown))

for title in ("NAME", "SYNOPSIS", "DESCRIPTION", "DIRECTIVES",
              "REFUSED PACKAGES", "THE STATUS DOCUMENT", "EXIT STATUS",
              "FILES", "LOGS", "EXAMPLES", "SEE ALSO"):
    result(bool(section(mod, title)), "mod_prep.8 has a section %s" % title)
see = " ".join(section(mod, "SEE ALSO"))
for ref in ("prepctl(1)", "apache2ctl(8)", "a2enmod(8)", "sshd_config(5)"):
    result(ref in see, "mod_prep.8 SEE ALSO names %s" % ref)
files = " ".join(section(mod, "FILES"))
for f in ("mod_prep-feeds.json", "journal.jsonl", "NAME.reason", "current",
          "cortes/ID/", "control.json", "archive/TIME/"):
    result(f in files, "mod_prep.8 FILES names %s" % f)

# -- prepctl.1: every command and option of prepctl --help -----------------
def help_section(title):
    return section(help_lines, title)


usage = {}  # command -> its usage text in --help
current = None
for line in help_section("SYNOPSIS"):
    m = re.match(r"^    prepctl (\S+)(.*)$", line)
    if m:
        current = m.group(1)
        usage[current] = usage.get(current, "") + " " + m.group(2)
    elif current and re.match(r"^ {5,}\S", line):
        usage[current] += " " + line.strip()
    else:
        current = None
commands = [c for c in usage if not c.startswith("-")]
result(len(commands) >= 12, "prepctl --help lists %d commands: %s"
       % (len(commands), " ".join(commands)))

listed = set()
for title in ("OPTIONS OF THE COMMANDS ON A FEED", "OPTIONS OF VERIFY"):
    opts = set()
    for line in help_section(title):
        m = re.match(r"^    (-[^ ]+(?:, -\S+)?)", line)
        if m:
            opts |= options(m.group(1))
    result(bool(opts), "prepctl --help: %s lists options" % title)
    listed |= opts

synopsis = blocks(section(ctl, "SYNOPSIS"), "prepctl")
command_tags = entries(section(ctl, "COMMANDS"))
option_tags = entries(section(ctl, "OPTIONS"))
everywhere = set(listed)
for c in commands:
    mine = [b for b in synopsis if b.split()[1:2] == [c]]
    if not mine:
        result(False, "prepctl.1 SYNOPSIS has prepctl %s" % c)
        continue
    want = options(usage[c])
    have = options(" ".join(mine))
    result(want <= have, "prepctl.1 SYNOPSIS: prepctl %s with %s" %
           (c, " ".join(sorted(want)) or "no option"),
           "missing: " + " ".join(sorted(want - have)))
    result(any(re.match(r"^%s( |$)" % re.escape(c), t) for t in command_tags),
           "prepctl.1 COMMANDS has an entry for %s" % c)
    everywhere |= want
for o in ("--help", "--version", "--feeds", "--store"):
    everywhere.add(o)

missing = [o for o in sorted(everywhere)
           if not any(re.search(r"(^|[ ,])%s([ ,]|$)" % re.escape(o), t)
                      for t in option_tags)]
result(not missing, "prepctl.1 OPTIONS has an entry for each of the %d "
       "options of prepctl --help" % len(everywhere),
       "missing: " + " ".join(missing))

for title in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS",
              "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"):
    result(bool(section(ctl, title)), "prepctl.1 has a section %s" % title)
exits = entries(section(ctl, "EXIT STATUS"))
for code in ("0", "1", "2"):
    result(sum(1 for t in exits if re.match(r"^%s\s" % code, t)) >= 4,
           "prepctl.1 EXIT STATUS gives status %s for each kind of command" % code)
see = " ".join(section(ctl, "SEE ALSO"))
for ref in ("mod_prep(8)", "apache2ctl(8)", "a2enmod(8)", "sshd_config(5)"):
    result(ref in see, "prepctl.1 SEE ALSO names %s" % ref)
env = " ".join(entries(section(ctl, "ENVIRONMENT")))
for var in ("PREP_FEEDS_FILE", "APACHE_RUN_DIR"):
    result(var in env, "prepctl.1 ENVIRONMENT names %s" % var)

open(count_file, "w").write("%d %d\n" % (n, fails))
sys.exit(1 if fails else 0)
EOF
if [ -s "$W/count" ]; then
    read -r N more <"$W/count"
    FAILS=$((FAILS + more))
elif [ $rc != 0 ]; then
    not_ok "the content checks ran (python3 exited $rc)"
fi

echo "1..$N"
if [ $FAILS -gt 0 ]; then
    echo "# $FAILS failed"
    exit 1
fi
echo "# all passed"
