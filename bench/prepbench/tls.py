"""HTTPS and HTTP/2 (BENCH_ONLY=tls): the serving cases (a) json/main.json
and (b) random casilla files over TLS 1.3, with HTTP/1.1 (wrk) and HTTP/2
(h2load, 10 streams per connection), every request asking for gzip, against:
mod_prep and the stock setup on a second httpd (event MPM, mod_ssl,
mod_http2, `Protocols h2 http/1.1`, the same configuration otherwise, the
store the first one published into), nginx with `gzip on` over the unpacked
tree, and nginx with `gzip_static on` (and `brotli_static on` when Debian's
libnginx-mod-http-brotli-static loads) over the same tree precompressed by
a script (gzip -6 and brotli -q 11 of every text file): the best a careful
difusor could do without mod_prep.  The same P-256 certificate for all;
each server's default session handling; keep-alive connections."""

import gzip
import os
import re
import shutil
import statistics
import subprocess

from .common import PORT, PREFIX, ROUNDS, SECONDS, STOCK, WORK, HTTPD, die, procs, say
from .machine import HZ, Others, proc_table
from .profile import emit_block, perf_report
from .report import emit, fmt_ms
from .servers import wait_port
from .wrk import wrk

TLS_PORT = PORT + 10        # httpd with mod_ssl and mod_http2
NGINX_TLS_PORT = PORT + 11  # nginx, gzip on
NGINX_STATIC_PORT = PORT + 12  # nginx, gzip_static (and brotli_static)
TEXT = (".html", ".css", ".js", ".json", ".csv", ".svg", ".txt", ".xml")
REQUESTS = 1000000  # per keep-alive connection, HTTP/1.1 and HTTP/2
BROTLI_MODULE = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"


def certificate(d):
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "30", "-subj", "/CN=127.0.0.1"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o644)  # the servers' users read it; a bench key
    return crt, key


def precompressed(docroot, d, with_brotli):
    """A copy of the stock tree with NAME.gz (and NAME.br) next to every
    text file, as a script run after `tar xzf` would leave it."""
    tree = os.path.join(d, "static")
    stamp = os.path.join(d, "static.done" + (".br" if with_brotli else ""))
    if os.path.exists(stamp):
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(docroot, tree)
    texts = []
    for top, _dirs, files in os.walk(tree):
        for f in files:
            if f.endswith(TEXT):
                p = os.path.join(top, f)
                texts.append(p)
                with open(p, "rb") as src, gzip.open(p + ".gz", "wb", 6) as dst:
                    shutil.copyfileobj(src, dst)
    if with_brotli and shutil.which("brotli"):
        for i in range(0, len(texts), 500):
            subprocess.run(["brotli", "-k", "-f", "-q", "11"] + texts[i:i + 500], check=True)
    with open(stamp, "w"):
        pass
    return tree


def httpd_conf(setup, d, crt, key):
    with open(setup.conf) as f:
        text = f.read()
    hd = os.path.join(WORK, "httpd")
    empty = os.path.join(d, "incoming")
    os.makedirs(empty, exist_ok=True)
    shutil.chown(empty, setup.user, setup.group) if os.geteuid() == 0 else None
    text = text.replace("Listen 127.0.0.1:%d" % PORT, "Listen 127.0.0.1:%d https" % TLS_PORT)
    # h2load does not reconnect after a GOAWAY: no server ends a
    # connection after 1000 requests here (nginx: keepalive_requests)
    text = text.replace("MaxKeepAliveRequests 1000", "MaxKeepAliveRequests %d" % REQUESTS)
    text = text.replace('PidFile "%s/run/httpd.pid"' % hd, 'PidFile "%s/httpd.pid"' % d)
    text = text.replace('DefaultRuntimeDir "%s/run"' % hd, 'DefaultRuntimeDir "%s"' % d)
    text = text.replace('ErrorLog "%s/logs/error_log"' % hd, 'ErrorLog "%s/error_log"' % d)
    text = text.replace('PrepIncoming   "%s"' % setup.incoming, 'PrepIncoming   "%s"' % empty)
    m = os.path.dirname(re.search(r"LoadModule mpm_event_module\s+(\S+)", text).group(1))
    text += """
LoadModule socache_shmcb_module {m}/mod_socache_shmcb.so
LoadModule ssl_module           {m}/mod_ssl.so
LoadModule http2_module         {m}/mod_http2.so
Protocols h2 http/1.1
SSLEngine on
SSLCertificateFile "{crt}"
SSLCertificateKeyFile "{key}"
SSLProtocol -all +TLSv1.3
SSLSessionCache "shmcb:{d}/ssl_scache(512000)"
""".format(m=m, crt=crt, key=key, d=d)
    conf = os.path.join(d, "httpd-tls.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def nginx_conf(setup, d, crt, key, tree, with_brotli):
    as_root = "user %s %s;" % (setup.user, setup.group) if os.geteuid() == 0 else ""
    load = "load_module %s;" % BROTLI_MODULE if with_brotli else ""
    brotli = "brotli_static on;" if with_brotli else ""
    text = """# Written by bench/run (tls).
{load}
{as_root}
worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests {requests};
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    ssl_certificate {crt};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.3;
    gzip_types text/css application/javascript application/json text/csv image/svg+xml text/plain application/xml;
    server {{
        listen 127.0.0.1:{p1} ssl http2;
        gzip on;
        location /stock/ {{ alias {docroot}/; add_header Cache-Control "public, no-cache"; }}
    }}
    server {{
        listen 127.0.0.1:{p2} ssl http2;
        gzip_static on;
        {brotli}
        location /stock/ {{ alias {tree}/; add_header Cache-Control "public, no-cache"; }}
    }}
}}
""".format(load=load, as_root=as_root, d=d, crt=crt, key=key, p1=NGINX_TLS_PORT,
           p2=NGINX_STATIC_PORT, docroot=setup.docroot, tree=tree, brotli=brotli,
           requests=REQUESTS)
    conf = os.path.join(d, "nginx-tls.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def brotli_static_loads(setup, d, crt, key):
    """Whether nginx accepts Debian's brotli_static module (installed as
    root when missing)."""
    if not os.path.exists(BROTLI_MODULE) and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "libnginx-mod-http-brotli-static"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not os.path.exists(BROTLI_MODULE):
        return False
    conf = nginx_conf(setup, d, crt, key, setup.docroot, True)
    return subprocess.run(["nginx", "-t", "-c", conf, "-p", d], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def h2load(urls, seconds, encoding):
    """h2load over TLS, 32 connections of 10 streams for `seconds`."""
    cmd = ["h2load", "-D", str(seconds), "-c", "32", "-m", "10", "-t", "2",
           "-H", "Accept-Encoding: " + encoding]
    # a list of URIs is a file of them (url_list), one URI is a URI
    cmd += ["-i", urls] if os.path.isfile(urls) else [urls]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=seconds + 60).stdout
    m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    ok = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed",
                   out)
    if not m or not ok:
        die("h2load said:\n" + out)
    tls = re.search(r"TLS Protocol: (\S+)\nCipher: (\S+)", out)
    return {"rps": float(m.group(1)), "failed": int(ok.group(2)), "done": int(ok.group(1)),
            "cipher": "%s %s" % tls.groups() if tls else "?"}


def url_list(path, base, prefix, casillas):
    with open(casillas) as f, open(path, "w") as out:
        for line in f:
            if line.strip():
                out.write("%s%s%s\n" % (base, prefix, line.strip()))
    return path


def tls_dir(setup):
    """bench/work/tls, the servers' users may read it; its certificate."""
    d = os.path.join(WORK, "tls")
    os.makedirs(d, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(d, setup.user, setup.group)
    return (d,) + certificate(d)


def bench_tls(setup, lists):
    d, crt, key = tls_dir(setup)
    with_brotli = brotli_static_loads(setup, d, crt, key)
    tree = precompressed(setup.docroot, d, with_brotli)
    conf = httpd_conf(setup, d, crt, key)
    httpd = start_httpd(conf)
    ng = subprocess.Popen(["nginx", "-c", nginx_conf(setup, d, crt, key, tree, with_brotli),
                           "-p", d], stderr=subprocess.DEVNULL)
    procs.append(ng)
    wait_port(NGINX_TLS_PORT, "nginx (TLS)", ng)
    targets = {
        "prep": ("https://127.0.0.1:%d" % TLS_PORT, PREFIX),
        "stock": ("https://127.0.0.1:%d" % TLS_PORT, STOCK),
        "nginx": ("https://127.0.0.1:%d" % NGINX_TLS_PORT, STOCK),
        "nginx-static": ("https://127.0.0.1:%d" % NGINX_STATIC_PORT, STOCK),
    }
    cases = [("a", "json/main.json"), ("b", "random casilla JSON")]
    results, cipher = {}, "?"
    p99 = {(k, n): [] for k, _t in cases for n in targets}
    others = Others()
    for key_, _title in cases:
        for proto in ("h1", "h2", "h2br") if key_ == "a" else ("h1", "h2"):
            runs = {n: [] for n in targets}
            for rnd in range(max(1, ROUNDS - 1)):
                names = list(targets)
                order = names[rnd % len(names):] + names[:rnd % len(names)]
                for n in order:
                    base, prefix = targets[n]
                    if proto == "h1":
                        if key_ == "a":
                            r = wrk(base + prefix + "json/main.json", "fixed.lua")
                        else:
                            r = wrk(base + prefix, "list.lua", [lists["casillas"], prefix])
                        rps, failed = r["rps"], r["errors"]
                        p99[(key_, n)].append(r["p99_us"])
                    else:
                        if key_ == "a":
                            h = h2load(base + prefix + "json/main.json", SECONDS,
                                       "br, gzip" if proto == "h2br" else "gzip")
                        else:
                            h = h2load(url_list(os.path.join(d, "urls-%s.txt" % n), base,
                                                prefix, lists["casillas"]), SECONDS, "gzip")
                        rps, failed, cipher = h["rps"], h["failed"], h["cipher"]
                    runs[n].append((rps, failed))
                    say("tls (%s, %s) round %d %-12s %8.0f req/s failed %d" % (
                        key_, proto, rnd + 1, n, rps, failed))
            results[(key_, proto)] = {n: (statistics.median(x for x, _f in v),
                                          sum(f for _x, f in v)) for n, v in runs.items()}
    for (key_, n), v in p99.items():
        results[(key_, "h1")][n] += (statistics.median(v),)
    others = others.percent()
    prof = profile_tls([(n, ng if n.startswith("nginx") else httpd, targets[n])
                        for n in ("prep", "nginx", "nginx-static")], d)
    prof_h2 = profile_tls([(n, ng if n.startswith("nginx") else httpd, targets[n])
                           for n in ("prep", "stock", "nginx", "nginx-static")], d,
                          h2_casillas, lists)
    stop(httpd)
    stop(ng)
    # the same with the worker MPM (BENCH_ONLY=tls-tune's fastest): a
    # thread keeps its keep-alive connection, no hand-off per request
    with open(conf) as f:
        text = tuned(f.read(), dict(TUNE)["worker MPM, 2×64"])
    with open(os.path.join(d, "httpd-worker.conf"), "w") as f:
        f.write(text)
    httpd = start_httpd(os.path.join(d, "httpd-worker.conf"))
    more = profile_tls([("prep, worker MPM", httpd, targets["prep"])], d)
    stop(httpd)
    prof[0].update(more[0])
    prof[1].update(more[1])
    return results, cases, cipher, with_brotli, others, (prof, prof_h2)


def print_tls(results, cases, cipher, with_brotli, others, prof):
    emit("### HTTPS and HTTP/2 (TLS 1.3, %s; Accept-Encoding: gzip, and br, gzip "
         "on the h2 br row)" % cipher)
    emit()
    emit("HTTP/1.1: wrk -t2 -c32 (p99 latency in brackets); HTTP/2: h2load -c32 -m10 -t2; "
         "%d s per run, %d rounds alternated, medians of req/s; ratio: mod_prep's req/s "
         "over the other's.  nginx-static: gzip_static%s over a tree precompressed "
         "after tar xzf.  Others' CPU during the part (a shared machine): %.0f%%." % (
             SECONDS, max(1, ROUNDS - 1),
             " and brotli_static" if with_brotli else
             " (brotli_static: Debian's module did not load)", others))
    emit()
    emit("| case | protocol | mod_prep | stock Apache | nginx gzip on | nginx gzip_static "
         "| vs stock | vs nginx | vs nginx-static | failed |")
    emit("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    titles = dict(cases)
    protos = {"h1": "HTTP/1.1", "h2": "HTTP/2", "h2br": "HTTP/2, br"}

    def cell(v):
        return "%.0f (%s)" % (v[0], fmt_ms(v[2])) if len(v) > 2 else "%.0f" % v[0]

    for (key_, proto), r in results.items():
        p = r["prep"][0]
        emit("| (%s) %s | %s | %s | %s | %s | %s | %.2f× | %.2f× | %.2f× | %d |" % (
            key_, titles[key_], protos[proto], cell(r["prep"]), cell(r["stock"]),
            cell(r["nginx"]), cell(r["nginx-static"]),
            p / r["stock"][0] if r["stock"][0] else 0, p / r["nginx"][0] if r["nginx"][0] else 0,
            p / r["nginx-static"][0] if r["nginx-static"][0] else 0,
            sum(v[1] for v in r.values())))
    emit()
    print_profile(*prof[0], title="(a) over TLS HTTP/1.1")
    print_profile(*prof[1], title="(b) over HTTP/2 (h2load -m10)")


def start_httpd(conf, env=None):
    httpd = subprocess.Popen([HTTPD, "-f", conf, "-DFOREGROUND"],
                             env=dict(os.environ, **env) if env else None)
    procs.append(httpd)
    wait_port(TLS_PORT, "httpd (TLS)", httpd)
    return httpd


def stop(p):
    p.terminate()
    p.wait(timeout=20)
    procs.remove(p)


# perf's samples, grouped as the doc reads them: by the shared object the
# sample is in, and the kernel's by what called it
GROUPS = [("TLS/crypto (libcrypto, libssl, mod_ssl)", ("libcrypto", "libssl", "mod_ssl")),
          ("kernel: thread hand-offs (futex, scheduler)", ()),
          ("kernel: network (TCP, sockets, epoll)", ()),
          ("kernel: other", ("[kernel",)),
          ("gzip (zlib)", ("libz",)),
          ("mod_prep", ("mod_prep",)),
          ("HTTP/2 (mod_http2, libnghttp2)", ("mod_http2", "libnghttp2")),
          ("httpd core, APR, its modules", ("apache2", "libapr", "libaprutil", "mod_", "httpd")),
          ("nginx core", ("nginx",)),
          ("libc", ("libc",))]
HANDOFF = ("futex", "do_futex", "__x64_sys_futex", "finish_task_switch", "__schedule",
           "schedule")
NETWORK = ("tcp_", "sock_", "ep_", "do_epoll", "__x64_sys_epoll", "ip_", "skb_", "__sys_",
           "inet_", "__tcp", "do_writev", "vfs_writev", "__x64_sys_read", "ksys_read")


def group_of(frames):
    """frames: (symbol, object) from the sampled one outwards."""
    dso = os.path.basename(frames[0][1]) if frames else "?"
    if dso.startswith("[kernel"):
        syms = [sym for sym, _o in frames]
        if any(x.startswith(HANDOFF) for x in syms):
            return GROUPS[1][0]
        if any(x.startswith(NETWORK) for x in syms):
            return GROUPS[2][0]
    for name, prefixes in GROUPS:
        if prefixes and dso.startswith(prefixes):
            return name
    return "other"


def perf_groups(data):
    """Samples of a perf record -g by group (perf script's call chains)."""
    out = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         timeout=300).stdout
    per = {}
    for sample in out.split("\n\n"):
        frames = []
        for line in sample.splitlines():
            m = re.match(r"\s*[0-9a-f]+ (\S+?)(?:\+0x[0-9a-f]+)? \((.*)\)\s*$", line)
            if m:
                frames.append((m.group(1), m.group(2)))
        if frames:
            g = group_of(frames)
            per[g] = per.get(g, 0) + 1
    return per


def children(pid):
    return [c for c, (pp, _t) in proc_table().items() if pp == pid]


def h1_main(base, prefix, _d, _lists):
    """(a) over TLS HTTP/1.1 (wrk): (requests, req/s)."""
    r = wrk(base + prefix + "json/main.json", "fixed.lua")
    return r["requests"], r["rps"]


def h2_casillas(base, prefix, d, lists):
    """(b) over HTTP/2 (h2load, 10 streams a connection): (requests, req/s)."""
    urls = url_list(os.path.join(d, "urls-profile%s.txt" % re.sub(r"\W+", "-", base + prefix)),
                    base, prefix, lists["casillas"])
    h = h2load(urls, SECONDS, "gzip")
    return h["done"], h["rps"]


def profile_tls(runs, d, client=h1_main, lists=None):
    """perf record -g of the workers (httpd's children, nginx's workers)
    while `client` runs (a) over TLS HTTP/1.1, or (b) over HTTP/2; CPU per
    request by group.  runs: (name, the server's master process, (base URL,
    prefix))."""
    out, tops = {}, {}
    if not shutil.which("perf"):
        return out, tops
    tag = "" if client is h1_main else "-h2"
    for n, master, (base, prefix) in runs:
        data = os.path.join(d, "perf-tls%s-%s.data" % (tag, re.sub(r"\W+", "-", n)))
        rec = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", data, "-p",
                                ",".join(str(p) for p in children(master.pid)),
                                "--", "sleep", str(SECONDS)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(rec)
        requests, rps = client(base, prefix, d, lists)
        rec.wait(timeout=60)
        procs.remove(rec)
        if rec.returncode != 0 or not os.path.exists(data):
            return out, tops
        per = perf_groups(data)
        # samples at 999 Hz: CPU µs per request
        out[n] = ({g: v * 1e6 / 999 / (requests or 1) for g, v in per.items()}, rps)
        tops[n] = perf_report(data, "1.5", "dso,sym")[:12]
    return out, tops


def print_profile(out, tops, title):
    if not out:
        emit("(no TLS profile of %s: perf missing or perf record failed)" % title)
        emit()
        return
    names = list(out)
    emit("#### Where the time goes in %s: perf record -F 999 -g of the "
         "workers, %d s, CPU µs per request by group" % (title, SECONDS))
    emit()
    emit("| group | " + " | ".join(names) + " |")
    emit("|---|" + "---:|" * len(names))
    groups = [g for g, _p in GROUPS] + ["other"]
    for g in groups:
        if any(out[n][0].get(g, 0) >= 0.05 for n in names):
            emit("| %s | " % g + " | ".join("%.1f" % out[n][0].get(g, 0) for n in names) + " |")
    emit("| **total** | " + " | ".join("%.1f" % sum(out[n][0].values()) for n in names) + " |")
    emit("| req/s while recorded | " + " | ".join("%.0f" % out[n][1] for n in names) + " |")
    emit()
    for n in names:
        emit("%s: top symbols (≥ 1.5%% of the workers' samples):" % n)
        emit()
        emit_block(tops[n], 12)


# BENCH_ONLY=tls-tune: httpd's settings, one at a time against the TLS
# setup above; (text to replace, its replacement) or text to add.
TUNE = [
    ("event, 2×64 (the bench's)", []),
    ("event, 1×128", [("StartServers        2", "StartServers        1"),
                      ("ServerLimit         2", "ServerLimit         1"),
                      ("ThreadsPerChild     64", "ThreadsPerChild     128")]),
    ("event, 4×32", [("StartServers        2", "StartServers        4"),
                     ("ServerLimit         2", "ServerLimit         4"),
                     ("ThreadsPerChild     64", "ThreadsPerChild     32")]),
    ("worker MPM, 2×64", [("mod_mpm_event.so", "mod_mpm_worker.so"),
                          ("mpm_event_module", "mpm_worker_module")]),
    ("worker MPM, 4×32", [("mod_mpm_event.so", "mod_mpm_worker.so"),
                          ("mpm_event_module", "mpm_worker_module"),
                          ("StartServers        2", "StartServers        4"),
                          ("ServerLimit         2", "ServerLimit         4"),
                          ("ThreadsPerChild     64", "ThreadsPerChild     32")]),
    ("EnableSendfile Off", [("EnableSendfile On", "EnableSendfile Off")]),
    ("EnableMMAP Off", ["EnableMMAP Off"]),
    ("MaxKeepAliveRequests 1000 (the plain bench's)",
     [("MaxKeepAliveRequests %d" % REQUESTS, "MaxKeepAliveRequests 1000")]),
    ("KeepAliveTimeout 30", ["KeepAliveTimeout 30"]),
    ("H2MaxSessionStreams 200, H2WindowSize 1 MB",
     ["H2MaxSessionStreams 200\nH2WindowSize 1048576"]),
    ("H2StreamMaxMemSize 262144, H2MinWorkers 64", ["H2StreamMaxMemSize 262144\nH2MinWorkers 64"]),
    # (b) over h2 spends most of its kernel time in page faults and TLB
    # shootdowns (smp_call_function_many_cond, mmap_lock): memory given
    # back and taken again per stream
    ("MaxMemFree 0 (APR keeps the memory it frees)", ["MaxMemFree 0"]),
    ("glibc MALLOC_MMAP_THRESHOLD_=4 MB, MALLOC_TRIM_THRESHOLD_=64 MB",
     [{"MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "67108864"}]),
    ("the same and MaxMemFree 0, worker MPM 4×32",
     [{"MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "67108864"},
      "MaxMemFree 0",
      ("mod_mpm_event.so", "mod_mpm_worker.so"),
      ("mpm_event_module", "mpm_worker_module"),
      ("StartServers        2", "StartServers        4"),
      ("ServerLimit         2", "ServerLimit         4"),
      ("ThreadsPerChild     64", "ThreadsPerChild     32")]),
    ("H2MinWorkers 2, H2MaxWorkers 8", ["H2MinWorkers 2\nH2MaxWorkers 8"]),
    ("worker MPM 4×32, H2MinWorkers 2, H2MaxWorkers 8",
     [("mod_mpm_event.so", "mod_mpm_worker.so"),
      ("mpm_event_module", "mpm_worker_module"),
      ("StartServers        2", "StartServers        4"),
      ("ServerLimit         2", "ServerLimit         4"),
      ("ThreadsPerChild     64", "ThreadsPerChild     32"),
      "H2MinWorkers 2\nH2MaxWorkers 8"]),
    ("SSLSessionCache none", [('SSLSessionCache "shmcb:', 'SSLSessionCache none\n#')]),
    ("SSLSessionTickets off, NumTickets 0 (conf/prep-tls.conf)",
     ["SSLSessionTickets off\nSSLOpenSSLConfCmd NumTickets 0"]),
]


def server_ticks(master):
    """CPU ticks of httpd's processes: the master and its children."""
    return sum(t for pid, (pp, t) in proc_table().items() if pid == master or pp == master)


def tuned(text, changes):
    for c in changes:
        if isinstance(c, dict):
            continue  # httpd's environment (tune_env)
        if isinstance(c, tuple):
            if c[0] not in text:
                die("tls-tune: %r is not in the configuration" % c[0])
            text = text.replace(c[0], c[1])
        else:
            text += c + "\n"
    return text


def tune_env(changes):
    env = {}
    for c in changes:
        if isinstance(c, dict):
            env.update(c)
    return env


def bench_tune(setup, lists):
    """Each of TUNE once: (a) over HTTP/1.1 (wrk) and (b) over HTTP/2."""
    d, crt, key = tls_dir(setup)
    base_conf = httpd_conf(setup, d, crt, key)
    with open(base_conf) as f:
        base_text = f.read()
    base = "https://127.0.0.1:%d" % TLS_PORT
    urls = url_list(os.path.join(d, "urls-tune.txt"), base, PREFIX, lists["casillas"])
    rows, others = [], Others()
    for title, changes in TUNE:
        text = tuned(base_text, changes)
        conf = os.path.join(d, "httpd-tune.conf")
        with open(conf, "w") as f:
            f.write(text)
        one = Others()
        httpd = start_httpd(conf, tune_env(changes))
        t0 = server_ticks(httpd.pid)
        r = wrk(base + PREFIX + "json/main.json", "fixed.lua")
        t1 = server_ticks(httpd.pid)
        h = h2load(urls, SECONDS, "gzip")
        t2 = server_ticks(httpd.pid)
        stop(httpd)
        cpu_a = (t1 - t0) * 1e6 / HZ / max(1, r["requests"])
        cpu_b = (t2 - t1) * 1e6 / HZ / max(1, h["done"])
        rows.append((title, r["rps"], r["p99_us"], cpu_a, h["rps"], cpu_b,
                     r["errors"] + h["failed"], one.percent()))
        say("tls-tune %-50s (a) h1 %8.0f req/s %5.1f µs  (b) h2 %8.0f req/s %5.1f µs" % (
            title, r["rps"], cpu_a, h["rps"], cpu_b))
    return rows, others.percent()


def print_tune(rows, others):
    emit("### httpd's settings over TLS, one at a time (mod_prep; each measured once, %d s)"
         % SECONDS)
    emit()
    emit("(a) json/main.json over HTTP/1.1 (wrk -t2 -c32) and (b) random casilla JSON over "
         "HTTP/2 (h2load -c32 -m10): req/s, and httpd's CPU per request (its processes' "
         "ticks over the requests answered: what the others on the machine change least); "
         "ratios to the bench's settings (first row), of req/s and of CPU per request "
         "(below 1: cheaper).  Others' CPU over the whole matrix: %.0f%% (a shared "
         "machine)." % others)
    emit()
    emit("| settings | (a) h1 req/s | p99 | CPU µs/req | ratio req/s | ratio CPU "
         "| (b) h2 req/s | CPU µs/req | ratio req/s | ratio CPU | failed | others' CPU |")
    emit("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    a0, ca0, b0, cb0 = (rows[0][1] or 1, rows[0][3] or 1, rows[0][4] or 1, rows[0][5] or 1)
    for title, a, p99, ca, b, cb, failed, oth in rows:
        emit("| %s | %.0f | %s | %.1f | %.2f | %.2f | %.0f | %.1f | %.2f | %.2f | %d | %.0f%% |" % (
            title, a, fmt_ms(p99), ca, a / a0, ca / ca0, b, cb, b / b0, cb / cb0, failed, oth))
    emit()
