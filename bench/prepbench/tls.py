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
from .machine import Others
from .report import emit, fmt_ms
from .servers import wait_port
from .wrk import wrk

TLS_PORT = PORT + 10        # httpd with mod_ssl and mod_http2
NGINX_TLS_PORT = PORT + 11  # nginx, gzip on
NGINX_STATIC_PORT = PORT + 12  # nginx, gzip_static (and brotli_static)
TEXT = (".html", ".css", ".js", ".json", ".csv", ".svg", ".txt", ".xml")
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
    keepalive_requests 1000;
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
           p2=NGINX_STATIC_PORT, docroot=setup.docroot, tree=tree, brotli=brotli)
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
    if isinstance(urls, str):
        cmd.append(urls)
    else:
        cmd += ["-i", urls]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=seconds + 60).stdout
    m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    ok = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed",
                   out)
    if not m or not ok:
        die("h2load said:\n" + out)
    tls = re.search(r"TLS Protocol: (\S+)\nCipher: (\S+)", out)
    return {"rps": float(m.group(1)), "failed": int(ok.group(2)),
            "cipher": "%s %s" % tls.groups() if tls else "?"}


def url_list(path, base, prefix, casillas):
    with open(casillas) as f, open(path, "w") as out:
        for line in f:
            if line.strip():
                out.write("%s%s%s\n" % (base, prefix, line.strip()))
    return path


def bench_tls(setup, lists):
    d = os.path.join(WORK, "tls")
    os.makedirs(d, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(d, setup.user, setup.group)
    crt, key = certificate(d)
    with_brotli = brotli_static_loads(setup, d, crt, key)
    tree = precompressed(setup.docroot, d, with_brotli)
    conf = httpd_conf(setup, d, crt, key)
    httpd = subprocess.Popen([HTTPD, "-f", conf, "-DFOREGROUND"])
    procs.append(httpd)
    wait_port(TLS_PORT, "httpd (TLS)", httpd)
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
    others = Others()
    for key_, _title in cases:
        for proto in ("h1", "h2"):
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
                    else:
                        if key_ == "a":
                            h = h2load(base + prefix + "json/main.json", SECONDS, "gzip")
                        else:
                            h = h2load(url_list(os.path.join(d, "urls-%s.txt" % n), base,
                                                prefix, lists["casillas"]), SECONDS, "gzip")
                        rps, failed, cipher = h["rps"], h["failed"], h["cipher"]
                    runs[n].append((rps, failed))
                    say("tls (%s, %s) round %d %-12s %8.0f req/s failed %d" % (
                        key_, proto, rnd + 1, n, rps, failed))
            results[(key_, proto)] = {n: (statistics.median(x for x, _f in v),
                                          sum(f for _x, f in v)) for n, v in runs.items()}
    httpd.terminate()
    ng.terminate()
    httpd.wait(timeout=20)
    ng.wait(timeout=20)
    procs.remove(httpd)
    procs.remove(ng)
    return results, cases, cipher, with_brotli, others.percent()


def print_tls(results, cases, cipher, with_brotli, others):
    emit("### HTTPS and HTTP/2 (TLS 1.3, %s; every request Accept-Encoding: gzip)" % cipher)
    emit()
    emit("HTTP/1.1: wrk -t2 -c32; HTTP/2: h2load -c32 -m10 -t2; %d s per run, %d "
         "rounds alternated, medians of req/s; ratio: mod_prep's req/s over "
         "the other's.  nginx-static: gzip_static%s over a tree precompressed "
         "after tar xzf.  Others' CPU during the part: %.0f%%." % (
             SECONDS, max(1, ROUNDS - 1),
             " and brotli_static" if with_brotli else
             " (brotli_static: Debian's module did not load)", others))
    emit()
    emit("| case | protocol | mod_prep | stock Apache | nginx gzip on | nginx gzip_static "
         "| vs stock | vs nginx | vs nginx-static | failed |")
    emit("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    titles = dict(cases)
    for (key_, proto), r in results.items():
        p = r["prep"][0]
        emit("| (%s) %s | %s | %.0f | %.0f | %.0f | %.0f | %.2f× | %.2f× | %.2f× | %d |" % (
            key_, titles[key_], "HTTP/1.1" if proto == "h1" else "HTTP/2", p,
            r["stock"][0], r["nginx"][0], r["nginx-static"][0],
            p / r["stock"][0] if r["stock"][0] else 0, p / r["nginx"][0] if r["nginx"][0] else 0,
            p / r["nginx-static"][0] if r["nginx-static"][0] else 0,
            sum(f for _x, f in r.values())))
    emit()


_ = fmt_ms  # the report's helpers, shared
