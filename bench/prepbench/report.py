"""The report: the markdown bench/run prints (and saves to
bench/work/results.md): the header, the serving table with mod_prep's
ratios, package-to-live by phase, the swaps, memory and store, and the
targets, each met or not."""

import json
import os
import statistics
import time

from .common import BIG_MB, FILES, ROUNDS, SECONDS, SIZE_MB, WORK, say

out_lines = []  # the markdown printed, also saved to work/results.md
VERDICTS = []  # (target, met: True, False or None for no target, figure)

LABELS = {"prep": "mod_prep", "floor": "floor (constant buffer)",
          "stock": "stock httpd + mod_deflate", "nginx": "nginx gzip on"}

PHASES = ["verify", "unpack", "check", "banner", "compress", "index", "publish"]


def emit(line=""):
    print(line, flush=True)
    out_lines.append(line)


def save():
    with open(os.path.join(WORK, "results.md"), "w") as f:
        f.write("\n".join(out_lines) + "\n")
    say("results also in bench/work/results.md")


def fmt_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return "%.1f %s" % (n, unit) if unit != "B" else "%d B" % n
        n /= 1024.0


def fmt_ms(us):
    return "%.1f ms" % (us / 1000.0) if us < 100000 else "%.0f ms" % (us / 1000.0)


def verdict(what, ok, figure):
    VERDICTS.append((what, ok, figure))


def print_header(machine, busy, ref, lists, floor_len):
    emit("## mod_prep bench — %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    emit()
    for k, v in machine:
        emit("- %s: %s" % (k, v))
    emit("- CPU busy (all processes, sampled 2 s before the servers "
         "started): %.0f%%" % busy)
    emit("- reference package: genpackage --files %d --size-mb %s: %s packed, "
         "%d files, main.json %s (gzip %s = the floor's buffer), casilla JSON ~%d B, "
         "CSV %s" % (FILES, SIZE_MB, fmt_bytes(os.path.getsize(ref["path"])),
                     lists["nfiles"], fmt_bytes(lists["main_size"]),
                     fmt_bytes(floor_len), lists["casilla_avg"],
                     fmt_bytes(lists["csv_size"])))
    emit()


# ------------------------------------------------------------ serving

def print_serving(results):
    emit("### Serving (wrk -t2 -c32, %d s per run (c: %d s), %d rounds alternated, "
         "medians)" % (SECONDS, 2 * SECONDS, ROUNDS))
    emit()
    emit("Every request sends Accept-Encoding: gzip.  The floor answers (a) with "
         "mod_prep's gzip main.json bytes and (b) with mod_prep's gzip bytes of one "
         "casilla, from memory.  wrk runs on the same machine, so every server "
         "shares the 2 CPUs with it.")
    emit()
    emit("| case | server | req/s | p99 latency | transfer/s | errors | mod_prep ÷ this |")
    emit("|---|---|---:|---:|---:|---:|---:|")
    for key in sorted(results):
        title, med, _o = results[key]
        for n, m in med.items():
            ratio = "—" if n == "prep" else "%.2f×" % (med["prep"]["rps"] / m["rps"]
                                                       if m["rps"] else float("inf"))
            codes = ""
            if key == "d" and m["codes"]:
                tot = sum(m["codes"].values())
                codes = " (%d%% 304)" % round(100.0 * m["codes"].get("304", 0) / tot)
            emit("| (%s) %s | %s | %.0f%s | %s | %s/s | %d | %s |" % (
                key, title, LABELS[n], m["rps"], codes, fmt_ms(m["p99_us"]),
                fmt_bytes(m["bps"]), m["errors"], ratio))
    emit()
    emit("CPU used by processes other than the bench's while each case ran "
         "(a shared machine): " + ", ".join(
             "(%s) %.0f%%" % (k, results[k][2]) for k in sorted(results)) +
         " of the 2 CPUs.")
    emit()


def print_targets(results):
    """The serving targets: mod_prep's req/s divided by the others'."""
    def rps(k, n):
        return results[k][1].get(n, {}).get("rps")  # (title, med, others)

    def ratio(k, n):
        a, b = rps(k, "prep"), rps(k, n)
        return a / b if a and b else None

    def check(what, k, n, want):
        r = ratio(k, n)
        if r is None:
            verdict(what, None, "not measured")
        else:
            verdict(what, r >= want if want else None,
                    "%.2f×" % r + (" (target ≥ %g×)" % want if want else ""))

    check("(a) main.json vs floor", "a", "floor", 0.85)
    check("(a) main.json vs stock", "a", "stock", 10)
    check("(a) main.json vs nginx", "a", "nginx", 1.0)
    check("(b) casilla JSON vs stock", "b", "stock", 5)
    check("(b) casilla JSON vs floor (no target)", "b", "floor", 0)
    check("(c) CSV vs stock", "c", "stock", 50)
    check("(c) CSV vs nginx", "c", "nginx", 10)


# ------------------------------------------------------------ package-to-live

def pkg_desc(pkg):
    size = os.path.getsize(pkg["path"])
    return "%s packed" % fmt_bytes(size)


def kind_of(title):
    """A row's kind: its title without the round (" #n")."""
    return title.rsplit(" #", 1)[0]


def print_live(rows, title="Package-to-live"):
    emit("### " + title)
    emit()
    emit("Measured from the rename of the upload into PrepIncoming (the end of "
         "an SFTP upload) to the first response of json/main.json that carries "
         "the new corte (X-PREP-Corte), polled every 10 ms: *live*; then to "
         "its first gzip response: *complete* (a corte with more than 16 MB "
         "to compress goes live with its identity bytes and reused variants, "
         "and gets its new variants right after).  It includes the intake "
         "noticing the upload (inotify: at once), the loader and the moment "
         "the children see the corte.  Phases are the loader's own (corte "
         "history in /prep-status), in ms, up to the moment it went live; "
         "*pending*: the variants made after it.")
    emit()
    emit("| corte | package | live after the rename | complete after the rename | "
         "loader total | " + " | ".join(PHASES) + " | pending | others' CPU |")
    emit("|---|---|---:|---:|---:|" + "---:|" * len(PHASES) + "---:|---:|")
    for title, pkg, r in rows:
        ph = r["phases"]
        emit("| %s | %s | %.2f s | %.2f s | %s ms | %s | %s | %.0f%% |" % (
            title, pkg_desc(pkg), r["after_rename_s"], r["complete_s"],
            sum(ph.values()) if ph else "?",
            " | ".join(str(ph.get(n, "?")) for n in PHASES),
            r.get("pending") if r.get("pending") is not None else "?", r["others"]))
    kinds = []
    for t, _p, _r in rows:
        if " #" in t and kind_of(t) not in kinds:
            kinds.append(kind_of(t))
    for kind in kinds:
        rs = [r for t, _p, r in rows if kind_of(t) == kind and " #" in t]
        emit("| **%s, median of %d** | | **%.2f s** | %.2f s | %d ms | %s | | |" % (
            kind, len(rs), statistics.median(r["after_rename_s"] for r in rs),
            statistics.median(r["complete_s"] for r in rs),
            statistics.median(sum(r["phases"].values()) for r in rs),
            " | ".join("%d" % statistics.median(r["phases"].get(n, 0) for r in rs)
                       for n in PHASES)))
    emit()
    emit("others' CPU: CPU used by processes other than the bench's during the "
         "measurement, in % of the 2 CPUs (the machine is shared).")
    emit()


# ------------------------------------------------------------ swaps, RSS

def print_swaps(r, checker, lives, elapsed):
    codes = r["codes"]
    fivexx = sum(v for k, v in codes.items() if k.startswith("5"))
    bad = sum(v for k, v in codes.items() if not (k.startswith("2") or k.startswith("3")))
    failed = r["connect"] + r["read"] + r["write"] + r["timeout"] + bad + len(checker.failed)
    emit("### 10 swaps under load")
    emit()
    emit("wrk -t2 -c32 (json/main.json, index.html, random data files; every "
         "status counted) for %.0f s while 10 packages (only data changed) "
         "arrive one after the other; in parallel a client loop checks that "
         "X-PREP-Corte names the corte of the body it came with (main.json's "
         "fechaCorte, index.html's banner)." % elapsed)
    emit()
    emit("| requests | failed | 5xx | status codes | socket errors (connect/read/write/timeout) | bodies checked | cortes mixed | live after the rename (min–max) |")
    emit("|---:|---:|---:|---|---|---:|---:|---|")
    emit("| %d | %d | %d | %s | %d/%d/%d/%d | %d | %d | %.2f–%.2f s |" % (
        r["requests"], failed, fivexx, json.dumps(codes, sort_keys=True),
        r["connect"], r["read"], r["write"], r["timeout"], checker.checked,
        len(checker.mixed), min(lives), max(lives)))
    emit()
    for line in (checker.failed + checker.mixed)[:10]:
        emit("- " + line)
    verdict("10 swaps: 0 failed, 0 5xx, 0 mixed", failed == 0 and fivexx == 0 and
            not checker.mixed and checker.checked > 0,
            "%d failed, %d 5xx, %d mixed of %d checked, %d requests" % (
                failed, fivexx, len(checker.mixed), checker.checked, r["requests"]))


def print_rss(rows, r, elapsed):
    emit("### %d swaps: memory and store" % (rows[-1][0]))
    emit()
    emit("Packages with only data changes, PrepSettleTime 1, PrepKeep 12 (the "
         "default), light load all along (wrk, 8 connections, one request "
         "every 20 ms each: %d requests, %d errors), %.0f s in all.  RSS from "
         "/proc/PID/status of httpd's children: the workers (the processes "
         "holding the listening socket) and the others (the intake)." % (
             r["requests"], r["errors"], elapsed))
    emit()
    emit("| swap | workers RSS | intake RSS | store (du -sb) | cortes kept |")
    emit("|---:|---:|---:|---:|---:|")
    for n, w, o, s, c in rows:
        emit("| %d | %s | %s | %s | %d |" % (n, fmt_bytes(w * 1024), fmt_bytes(o * 1024),
                                            fmt_bytes(s), c))
    emit()
    if len(rows) >= 3:
        _n, w1, o1, s1, _c = rows[1]
        _n, w2, o2, s2, _c = rows[2]
        grow_w = (w2 - w1) / float(w1) if w1 else 0
        grow_s = (s2 - s1) / float(s1) if s1 else 0
        verdict("RSS flat over swaps (growth from the middle to the end ≤ 5%)",
                grow_w <= 0.05, "%+.1f%%" % (100 * grow_w))
        verdict("store flat over swaps (growth from the middle to the end ≤ 5%)",
                grow_s <= 0.05, "%+.1f%%" % (100 * grow_s))


# ------------------------------------------------------------ targets

# Package-to-live targets (median, after the rename): the issue's
# reference package (BENCH_BIG_MB, 32 MB) at most 1.0 s for a full new
# corte and 0.6 s when only data files changed; the 5 MB one as before.
LIVE_TARGETS = (("full new corte", 3.0), ("only data changed", 1.5),
                ("big %s MB: full new corte" % BIG_MB, 1.0),
                ("big %s MB: only data changed" % BIG_MB, 0.6))


def print_verdicts(live_rows):
    """The targets table; live_rows (the package-to-live part's) add the
    package-to-live targets."""
    for kind, limit in LIVE_TARGETS:
        rs = [r["after_rename_s"] for t, _p, r in live_rows if kind_of(t) == kind]
        if rs:
            med = statistics.median(rs)
            verdict("package-to-live, %s ≤ %g s after the rename (median)" % (kind, limit),
                    med <= limit, "%.2f s (runs: %s)" % (
                        med, ", ".join("%.2f" % x for x in rs)))
    if not VERDICTS:
        return
    emit("### Targets")
    emit()
    emit("| target | met | measured |")
    emit("|---|---|---|")
    for what, ok, figure in VERDICTS:
        emit("| %s | %s | %s |" % (what, "—" if ok is None else "yes" if ok else "**no**",
                                   figure))
    emit()
