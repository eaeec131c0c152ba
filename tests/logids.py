#!/usr/bin/env python3
"""tests/logids.py — every log call of the httpd glue (mod_prep/mod_prep*.c)
starts its message with mod_prep's own id, "PREPnnnn: ", on the same line as
the start of the literal; no id is used twice, none is one of httpd's
APLOGNO numbers, and every id is listed in docs/operations.md."""
import glob
import os
import re
import sys

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
calls = re.compile(r"\bap_log_(?:error|rerror|perror|cerror|cserror)\s*\(")
failed = []
seen = {}
for path in sorted(glob.glob(os.path.join(top, "mod_prep", "mod_prep*.c"))):
    text = open(path, encoding="utf-8").read()
    if "APLOGNO" in text:
        failed.append("%s uses APLOGNO (httpd's own registry)" % path)
    for m in calls.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        where = "%s:%d" % (os.path.relpath(path, top), line)
        quote = text.find('"', m.end())
        found = re.match(r'"(PREP\d{4}): ', text[quote:quote + 12])
        if quote < 0 or not found:
            failed.append("%s: log call without a PREPnnnn id" % where)
            continue
        ident = found.group(1)
        if ident in seen:
            failed.append("%s: %s already used at %s" % (where, ident, seen[ident]))
        seen[ident] = where
docs = open(os.path.join(top, "docs", "operations.md"), encoding="utf-8").read()
listed = set(re.findall(r"PREP\d{4}", docs))
for a, b in re.findall(r"`(PREP\d{4})`–`(PREP\d{4})`", docs):
    listed.update("PREP%04d" % n for n in range(int(a[4:]), int(b[4:]) + 1))
for ident in sorted(seen):
    if ident not in listed:
        failed.append("%s (%s) is not listed in docs/operations.md" % (ident, seen[ident]))
for f in failed:
    print("not ok - " + f)
print("%d log ids checked, %d problems" % (len(seen), len(failed)))
sys.exit(1 if failed else 0)
