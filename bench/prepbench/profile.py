"""Where the CPU goes while (a) runs: perf record of this httpd's worker
processes only (the machine is shared) against mod_prep, the floor and the
stock setup, by shared object, and mod_prep's top symbols; printed as perf
reports them."""

import os
import subprocess

from .common import SECONDS, WORK, procs
from .machine import proc_table
from .report import LABELS, emit
from .servers import find_listen_inodes, listening
from .serving import wrk_for


def profile(targets, lists, httpd_pid):
    """Prints the profile of (a) for mod_prep, the floor and stock."""
    find_listen_inodes()
    workers = [pid for pid, (pp, _t) in proc_table().items()
               if pp == httpd_pid and listening(str(pid))]
    emit("### Where the time goes in (a): perf record of the %d httpd workers, %d s"
         % (len(workers), SECONDS))
    emit()
    for name in ("prep", "floor", "stock"):
        data = os.path.join(WORK, "perf-a-%s.data" % name)
        rec = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", data, "-p",
                                ",".join(str(p) for p in workers),
                                "--", "sleep", str(SECONDS)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(rec)
        r = wrk_for("a", name, targets, lists)
        rec.wait(timeout=60)
        procs.remove(rec)
        if rec.returncode != 0 or not os.path.exists(data):
            emit("perf record failed (%s); no profile" % rec.returncode)
            emit()
            return
        emit("%s, %.0f req/s while recorded — httpd's CPU samples by object "
             "(≥ 1%%):" % (LABELS[name], r["rps"]))
        emit()
        emit_block(perf_report(data, "1", "dso"), 14)
        if name == "prep":
            emit("mod_prep: httpd's top symbols (≥ 0.7% of its samples):")
            emit()
            emit_block(perf_report(data, "0.7", "dso,sym"), 25)


def perf_report(data, percent_limit, sort):
    """perf report's lines for data, its comments and blank lines left out."""
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                          "-g", "none", "--percent-limit", percent_limit, "--sort",
                          sort],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    return [l for l in rep.splitlines() if l.strip() and not l.startswith("#")]


def emit_block(lines, most):
    emit("```")
    emit("\n".join(lines[:most]))
    emit("```")
    emit()
