"""Serving, cases (a)-(d): wrk against mod_prep, the floor, the stock setup
and nginx, each case in ROUNDS rounds in which the servers take turns (the
order rotates every round) after a 1 s warm-up of each; medians.  Also the
path lists the wrk scripts pick from (make_lists)."""

import json
import os
import statistics

from .common import ROUNDS, SECONDS, WORK, die, say
from .machine import Others
from .report import fmt_bytes, fmt_ms
from .servers import get
from .wrk import merge_codes, wrk


def bench_serving(targets, lists):
    """Runs each scenario in ROUNDS rounds, the targets alternated (the
    order rotates every round), and returns the medians."""
    scenarios = [
        ("a", "json/main.json, gzip", ["prep", "floor", "stock", "nginx"]),
        ("b", "random per-casilla JSON, gzip", ["prep", "floor", "stock", "nginx"]),
        ("c", "CSV database (%s), gzip" % fmt_bytes(lists["csv_size"]),
         ["prep", "stock", "nginx"]),
        ("d", "page-load mix (%d revalidated + %d data)" % (lists["page_len"], 3),
         ["prep", "stock", "nginx"]),
    ]
    results = {}
    for key, title, names in scenarios:
        names = [n for n in names if n in targets]
        runs = {n: [] for n in names}
        others = Others()
        for n in names:  # warm-up: attach the corte, fill caches
            wrk_for(key, n, targets, lists, seconds=1)
        for rnd in range(ROUNDS):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for n in order:
                r = wrk_for(key, n, targets, lists)
                runs[n].append(r)
                say("(%s) round %d %-5s %8.0f req/s p99 %s errors %d %s" % (
                    key, rnd + 1, n, r["rps"], fmt_ms(r["p99_us"]), r["errors"],
                    json.dumps(r["codes"]) if r["codes"] else ""))
        results[key] = (title, {n: medians(runs[n]) for n in names}, others.percent())
    return results


def medians(rs):
    return {
        "rps": statistics.median(r["rps"] for r in rs),
        "p99_us": statistics.median(r["p99_us"] for r in rs),
        "bps": statistics.median(r["bps"] for r in rs),
        "errors": sum(r["errors"] for r in rs),
        "requests": sum(r["requests"] for r in rs),
        "codes": merge_codes(rs),
        "all_rps": [r["rps"] for r in rs],
    }


def wrk_for(key, name, targets, lists, seconds=SECONDS):
    base, prefix = targets[name]
    if key == "a":
        path = "/floor" if name == "floor" else prefix + "json/main.json"
        return wrk(base + path, "fixed.lua", seconds=seconds)
    if key == "b":
        if name == "floor":
            return wrk(base + "/floor-casilla", "fixed.lua", seconds=seconds)
        return wrk(base + prefix, "list.lua", [lists["casillas"], prefix], seconds=seconds)
    if key == "c":
        # 32 connections each asking for megabytes: runs twice as long, so
        # that the slow servers finish more than their first responses
        return wrk(base + prefix + lists["csv"], "fixed.lua", seconds=seconds * 2,
                   timeout="30s")
    return wrk(base + prefix, "mix.lua",
               [lists["page_" + name], lists["data"], prefix, 3], seconds=seconds)


PAGE = ["index.html", "css/bootstrap.min.css", "css/prep.css", "js/vendor.min.js",
        "js/prep.js", "img/logo-ieeq.svg", "img/escudo.png", "favicon.ico",
        "json/main.json"]


def make_lists(docroot, targets):
    """The files of work/lists/ the wrk scripts read (casillas, data files,
    each server's page with its ETags) and the sizes the report names."""
    lists = {}
    ldir = os.path.join(WORK, "lists")
    os.makedirs(ldir, exist_ok=True)
    casillas = sorted("json/casillas/" + n
                      for n in os.listdir(os.path.join(docroot, "json", "casillas")))
    sizes = [os.path.getsize(os.path.join(docroot, p)) for p in casillas]
    lists["casilla_avg"] = sum(sizes) // len(sizes)
    lists["casillas"] = os.path.join(ldir, "casillas.txt")
    with open(lists["casillas"], "w") as f:
        f.write("\n".join(casillas) + "\n")
    from urllib.parse import quote
    data = casillas + ["json/municipios/" + quote(n) for n in
                       sorted(os.listdir(os.path.join(docroot, "json", "municipios")))]
    data += ["json/distritos/" + n for n in
             sorted(os.listdir(os.path.join(docroot, "json", "distritos")))]
    lists["data"] = os.path.join(ldir, "data.txt")
    with open(lists["data"], "w") as f:
        f.write("\n".join(data) + "\n")
    lists["csv"] = "datos/PRES_2024.csv"
    lists["csv_size"] = os.path.getsize(os.path.join(docroot, lists["csv"]))
    lists["main_size"] = os.path.getsize(os.path.join(docroot, "json", "main.json"))
    lists["nfiles"] = sum(len(fs) for _d, _s, fs in os.walk(docroot))
    lists["page_len"] = len(PAGE)
    for name, (base, prefix) in targets.items():
        if name == "floor":
            continue
        port = int(base.rsplit(":", 1)[1])
        lines = []
        for p in PAGE:
            st, h, _b = get(prefix + p, port=port, headers={"Accept-Encoding": "gzip"})
            if st != 200 or "etag" not in h:
                die("%s: %s%s answers %d without an ETag" % (name, prefix, p, st))
            lines.append("%s\t%s" % (p, h["etag"]))
        lists["page_" + name] = os.path.join(ldir, "page-%s.txt" % name)
        with open(lists["page_" + name], "w") as f:
            f.write("\n".join(lines) + "\n")
    return lists
