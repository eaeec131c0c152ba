#!/usr/bin/env bash
# tests/docs-es.sh — the Spanish documentation (docs/es/) keeps up with the
# English pages it translates, and no relative link of the docs is broken:
#   - every directive of docs/directives.md (its "### Prep..." headings,
#     <PrepFeed> and the SetHandler ones, as tests/manpages.sh reads them)
#     has the same heading in docs/es/directives.md, and the other way round;
#   - every prepctl command of docs/operations.md's "Election night with
#     prepctl" (its table and its examples) is in the section of
#     docs/es/operations.md whose heading names prepctl;
#   - every relative link of README.md, docs/*.md and docs/es/*.md names a
#     file or directory that exists, and in the Spanish pages and the two
#     indexes its #fragment, when it has one and names a Markdown page, an
#     anchor of that page (a heading's GitHub slug or an <a id>; elsewhere a
#     missing anchor is printed as a note);
#   - README.md links docs/es/README.md in its first lines, and docs/es/ has
#     the README, the operations guide, the directives and the memoria.
# Run by `make check`; prints TAP.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)

exec python3 - "$TOP" <<'EOF'
import html
import os
import re
import sys
import unicodedata

top = sys.argv[1]
n = 0
fails = 0


def result(good, what, detail=()):
    global n, fails
    n += 1
    print(("ok" if good else "not ok") + " %d - %s" % (n, what))
    if not good:
        fails += 1
        for line in detail:
            print("#   " + line)


def read(rel):
    with open(os.path.join(top, rel), encoding="utf-8") as f:
        return f.read()


def prose_lines(text):
    """The lines of a Markdown text outside fenced code blocks, numbered."""
    fence = None
    for no, line in enumerate(text.split("\n"), 1):
        m = re.match(r"^\s*(```+|~~~+)", line)
        if m:
            if fence is None:
                fence = m.group(1)[:3]
            elif m.group(1).startswith(fence):
                fence = None
            continue
        if fence is None:
            yield no, line


# -- 1. the directives, in both languages ---------------------------------
def directive_headings(rel):
    found = []
    for _, line in prose_lines(read(rel)):
        m = re.match(r"^#{2,3} (.*\S)\s*$", line)
        if m:
            h = html.unescape(m.group(1))
            if re.match(r"^(<?Prep\w+>?|SetHandler prep[\w-]*)$", h):
                found.append(h)
    return found


en = directive_headings("docs/directives.md")
es = directive_headings("docs/es/directives.md")
result(len(en) >= 30, "docs/directives.md names %d directives" % len(en))
missing = [h for h in en if h not in es]
result(not missing, "every directive of docs/directives.md is in docs/es/directives.md",
       ["missing in docs/es/directives.md: " + h for h in missing])
extra = [h for h in es if h not in en]
result(not extra, "every directive of docs/es/directives.md is in docs/directives.md",
       ["not in docs/directives.md: " + h for h in extra])
twice = sorted({h for h in es if es.count(h) > 1})
result(not twice, "docs/es/directives.md has each directive once",
       ["twice: " + h for h in twice])


# -- 2. prepctl's commands on election night -------------------------------
def section(rel, pred):
    """The lines of the first '## ' section whose heading satisfies pred."""
    out, inside = [], False
    for line in read(rel).split("\n"):
        m = re.match(r"^## (.*)$", line)
        if m:
            if inside:
                break
            inside = pred(m.group(1))
            continue
        if inside:
            out.append(line)
    return out


en_sec = section("docs/operations.md",
                 lambda h: h.strip() == "Election night with prepctl")
commands = []
for line in en_sec:
    for m in re.finditer(r"(?:^\| `|^\s*(?:\$ )?)prepctl ([a-z]+)\b", line):
        if m.group(1) not in commands:
            commands.append(m.group(1))
result(len(commands) >= 9,
       "docs/operations.md's \"Election night with prepctl\" documents %d commands (%s)"
       % (len(commands), " ".join(commands)))
es_sec = "\n".join(section("docs/es/operations.md", lambda h: "prepctl" in h))
result(bool(es_sec), "docs/es/operations.md has a section whose heading names prepctl")
missing = [c for c in commands if not re.search(r"prepctl %s\b" % c, es_sec)]
result(not missing,
       "every prepctl command of election night is in docs/es/operations.md's section",
       ["missing: prepctl " + c for c in missing])


# -- 3. relative links ------------------------------------------------------
def slug(heading):
    """GitHub's anchor for a heading: the text as rendered, lower case,
    without punctuation, spaces as hyphens."""
    text = html.unescape(heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)   # links: their text
    text = re.sub(r"<[^>]+>", "", text) if "<a " in text else text
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "-_" or cat[0] in "LN" or cat == "Mn":
            out.append(ch)
        elif ch == " ":
            out.append("-")
    return "".join(out)


anchor_cache = {}


def anchors(path):
    if path not in anchor_cache:
        seen = {}
        found = set()
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for _, line in prose_lines(text):
            for m in re.finditer(r"<a\s+(?:id|name)=\"([^\"]+)\"", line):
                found.add(m.group(1))
            m = re.match(r"^#{1,6} (.*?)\s*#*\s*$", line)
            if m:
                s = slug(m.group(1))
                k = seen.get(s, 0)
                seen[s] = k + 1
                found.add(s if k == 0 else "%s-%d" % (s, k))
        anchor_cache[path] = found
    return anchor_cache[path]


pages = ["README.md"]
pages += sorted("docs/" + f for f in os.listdir(os.path.join(top, "docs")) if f.endswith(".md"))
pages += sorted("docs/es/" + f for f in os.listdir(os.path.join(top, "docs/es")) if f.endswith(".md"))
link = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
# A #fragment that names no anchor fails the pages this test keeps in step
# (the Spanish pages and the two indexes); in the other English pages it is
# printed as a note, since the section it names may be on its way from
# another branch.
strict_anchors = {"README.md", "docs/README.md", "docs/es/README.md",
                  "docs/es/operations.md", "docs/es/directives.md"}
for page in pages:
    bad = []
    notes = []
    count = 0
    base = os.path.dirname(os.path.join(top, page))
    for no, line in prose_lines(read(page)):
        line = re.sub(r"`[^`]*`", "``", line)          # code spans are not links
        for m in link.finditer(line):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):   # http:, mailto:, …
                continue
            count += 1
            path, _, frag = target.partition("#")
            full = os.path.normpath(os.path.join(base, path)) if path else \
                os.path.join(top, page)
            if not os.path.exists(full):
                bad.append("%s:%d: %s: no such file" % (page, no, target))
                continue
            if frag and full.endswith(".md") and os.path.isfile(full):
                if frag not in anchors(full):
                    (bad if page in strict_anchors else notes).append(
                        "%s:%d: %s: no anchor #%s in %s"
                        % (page, no, target, frag, os.path.relpath(full, top)))
    result(not bad, "%s: its %d relative links resolve" % (page, count), bad)
    for line in notes:
        print("# note: " + line)

# -- 4. the way in ----------------------------------------------------------
for rel in ("docs/es/README.md", "docs/es/operations.md", "docs/es/directives.md",
            "docs/es/memoria.md"):
    result(os.path.isfile(os.path.join(top, rel)), rel + " exists")
head = read("README.md").split("\n")[:6]
result(any("(docs/es/README.md)" in l for l in head),
       "README.md links docs/es/README.md in its first lines")
head = read("docs/README.md").split("\n")[:6]
result(any("(es/README.md)" in l for l in head),
       "docs/README.md links es/README.md in its first lines")
es_readme = read("docs/es/README.md")
missing = [p for p in ("operations.md", "directives.md", "memoria.md")
           if "](%s)" % p not in es_readme]
result(not missing, "docs/es/README.md links the Spanish pages",
       ["missing: " + p for p in missing])

print("1..%d" % n)
sys.exit(1 if fails else 0)
EOF
