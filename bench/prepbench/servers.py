"""The servers: one httpd holding mod_prep (/prep/ref/), the stock setup
(/stock/) and the floor (/floor, /floor-casilla), and nginx over the same
unpacked tree on the next port; their configurations, the tree and the
floor module they are given, starting and stopping them, plain GETs."""

import gzip
import http.client
import os
import re
import shutil
import signal
import subprocess
import time

from .common import (BENCH, FEED, HTTPD, NGINX_PORT, PORT, PREFIX, SO, STOCK, WORK,
                     die, procs, run, say)


def install_tools():
    """As root on Debian: wrk, nginx (the outside reference) and perf (the
    profile) when missing, as the README's other commands install theirs."""
    wanted = {"wrk": "wrk", "nginx": "nginx-light", "perf": "linux-perf",
              "h2load": "nghttp2-client"}
    missing = [pkg for tool, pkg in wanted.items() if not shutil.which(tool)]
    if not missing or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    say("installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, check=False, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   check=False, timeout=900)


def check_tools():
    for tool in ("wrk", HTTPD):
        if not shutil.which(tool):
            die("%s is missing (apt-get install -y wrk apache2)" % tool)
    if not os.path.exists(SO):
        die("%s is missing: run make first" % SO)


def server_user():
    import pwd
    for user in ("prepci", "nobody"):
        try:
            pw = pwd.getpwnam(user)
            import grp
            return user, grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:
            continue
    run(["useradd", "--system", "--no-create-home", "prepci"])
    return "prepci", "prepci"


def stop_leftover(pidfile):
    """A server left running by a bench that was killed hard (SIGKILL)."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if WORK.encode() not in f.read():
                return  # a stale pid file: that pid is not ours any more
        os.kill(pid, signal.SIGTERM)
        say("stopped a server left running by an earlier bench (pid %d)" % pid)
    except (OSError, ValueError):
        return
    end = time.time() + 20
    while time.time() < end:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.2)


def stop_leftovers():
    stop_leftover(os.path.join(WORK, "httpd", "run", "httpd.pid"))
    stop_leftover(os.path.join(WORK, "nginx", "nginx.pid"))


# ------------------------------------------------------------ what they serve

def stock_tree(ref):
    """The reference package unpacked by hand, as a difusor does today."""
    docroot = os.path.join(WORK, "docroot")
    if os.path.isdir(docroot):
        shutil.rmtree(docroot)
    os.makedirs(docroot)
    run(["tar", "-xzf", ref["path"], "-C", docroot, "--strip-components=1",
         "--no-same-owner"])
    run(["chmod", "-R", "a+rX", docroot])
    return docroot


class Floor:
    """bench/mod_bench_floor.c built with apxs -c, and the two buffers it
    answers with: gzip of main.json and of one casilla (first guesses,
    replaced by mod_prep's own bytes once it serves them: as_served)."""

    def __init__(self, docroot):
        fdir = os.path.join(WORK, "floor")
        os.makedirs(fdir, exist_ok=True)
        shutil.copy(os.path.join(BENCH, "mod_bench_floor.c"), fdir)
        apxs = shutil.which("apxs") or shutil.which("apxs2")
        built = subprocess.run([apxs, "-c", "-Wc,-Wall", "-Wc,-Wextra", "-Wc,-Werror",
                                "mod_bench_floor.c"], cwd=fdir, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=300)
        if built.returncode != 0:
            die("apxs -c mod_bench_floor.c failed:\n" + built.stdout)
        self.so = os.path.join(fdir, ".libs", "mod_bench_floor.so")
        self.file = os.path.join(fdir, "main.json.gz")
        self.casilla_file = os.path.join(fdir, "casilla.json.gz")
        casilla = "json/casillas/" + sorted(os.listdir(os.path.join(docroot, "json",
                                                                    "casillas")))[0]
        self.sources = (("json/main.json", self.file), (casilla, self.casilla_file))
        for src, dst in self.sources:
            with open(os.path.join(docroot, src), "rb") as f:
                with open(dst, "wb") as g:
                    g.write(gzip.compress(f.read(), 6))

    def as_served(self, conf, httpd):
        """The floor sends the bytes mod_prep sends for a gzip main.json (and
        casilla): rewritten, and httpd restarted gracefully, if they differ.
        Returns the size of the main.json buffer."""
        changed = False
        for src, dst in self.sources:
            st, h, body = get(PREFIX + src, headers={"Accept-Encoding": "gzip"})
            if st != 200 or h.get("content-encoding") != "gzip":
                die("mod_prep does not send %s in gzip" % src)
            with open(dst, "rb") as f:
                if f.read() != body:
                    changed = True
                    with open(dst, "wb") as g:
                        g.write(body)
        if changed:
            run([HTTPD, "-f", conf, "-k", "graceful"])
            time.sleep(3)
            wait_port(PORT, "httpd", httpd)
        return os.path.getsize(self.file)


def feed_dirs(user, group):
    """The feed's PrepIncoming and PrepStore, empty, the server user's."""
    feed = os.path.join(WORK, "feed")
    if os.path.isdir(feed):
        shutil.rmtree(feed)
    incoming, store = os.path.join(feed, "incoming"), os.path.join(feed, "store")
    os.makedirs(incoming)
    os.makedirs(store)
    for d in (WORK, feed):
        os.chmod(d, 0o755)
    if os.geteuid() == 0:
        run(["chown", "%s:%s" % (user, group), incoming, store])
    return incoming, store


# ------------------------------------------------------------ configurations

def write_httpd_conf(user, group, docroot, floor_so, floor_file, floor_casilla,
                     incoming, store):
    apxs = shutil.which("apxs") or shutil.which("apxs2")
    modules = subprocess.check_output([apxs, "-q", "LIBEXECDIR"], text=True).strip()
    d = os.path.join(WORK, "httpd")
    as_root = "User %s\nGroup %s\n" % (user, group) if os.geteuid() == 0 else ""
    text = """# Written by bench/run.
ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{d}/run/httpd.pid"
DefaultRuntimeDir "{d}/run"
ErrorLog "{d}/logs/error_log"
LogLevel notice prep:info
{as_root}
LoadModule mpm_event_module   {m}/mod_mpm_event.so
LoadModule authz_core_module  {m}/mod_authz_core.so
LoadModule authz_host_module  {m}/mod_authz_host.so
LoadModule alias_module       {m}/mod_alias.so
LoadModule dir_module         {m}/mod_dir.so
LoadModule mime_module        {m}/mod_mime.so
LoadModule filter_module      {m}/mod_filter.so
LoadModule deflate_module     {m}/mod_deflate.so
LoadModule headers_module     {m}/mod_headers.so
LoadModule prep_module        "{so}"
LoadModule bench_floor_module "{floor_so}"

# Two children of 64 threads on this 2-core machine: a fixed set of
# processes, so that the RSS summed over them compares across swaps.
StartServers        2
ServerLimit         2
ThreadsPerChild     64
MaxRequestWorkers   128
MinSpareThreads     32
MaxSpareThreads     128
# As nginx's default keepalive_requests.
MaxKeepAliveRequests 1000
EnableSendfile On
TypesConfig /etc/mime.types
# No access log, for every setup alike (nginx: access_log off).

<PrepFeed {feed}>
    PrepIncoming   "{incoming}"
    PrepStore      "{store}"
    PrepSettleTime 1
    PrepCorteTime  json json/main.json /fechaCorte
    PrepTimeZone   -06:00 "Tiempo del Centro"
</PrepFeed>

<Location /prep/{feed}>
    SetHandler prep
    PrepServe {feed}
</Location>

<Location /prep-status>
    SetHandler prep-status
    Require ip 127.0.0.1
</Location>

# The stock setup: the package unpacked by hand, what mod_headers lines a
# difusor adds, mod_deflate for text types.
Alias /stock "{docroot}"
<Directory "{docroot}">
    Require all granted
    Options None
    AllowOverride None
    DirectoryIndex index.html
    AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css text/csv application/json application/javascript text/javascript image/svg+xml application/xml
    Header set Cache-Control "public, no-cache"
    Header set X-Content-Type-Options "nosniff"
    <FilesMatch "\\.(json|csv)$">
        Header set Access-Control-Allow-Origin "*"
    </FilesMatch>
    <Files "main.json">
        Header set Cache-Control "no-cache, no-store, must-revalidate"
    </Files>
</Directory>

# The floor: mod_prep's gzip bytes of json/main.json and of one casilla.
<Location /floor>
    SetHandler bench-floor
    BenchFloorFile "{floor_file}"
</Location>
<Location /floor-casilla>
    SetHandler bench-floor
    BenchFloorFile "{floor_casilla}"
</Location>
""".format(d=d, port=PORT, as_root=as_root, m=modules, so=SO, floor_so=floor_so,
           feed=FEED, incoming=incoming, store=store, docroot=docroot,
           floor_file=floor_file, floor_casilla=floor_casilla)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    os.makedirs(os.path.join(d, "run"), exist_ok=True)
    conf = os.path.join(d, "httpd.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def write_nginx_conf(user, group, docroot):
    d = os.path.join(WORK, "nginx")
    os.makedirs(d, exist_ok=True)
    as_root = "user %s %s;" % (user, group) if os.geteuid() == 0 else ""
    text = """# Written by bench/run.
{as_root}
worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
    types {{
        text/html html; text/css css; application/javascript js;
        application/json json; text/csv csv; image/svg+xml svg;
        image/png png; image/jpeg jpg; image/gif gif; image/webp webp;
        font/woff2 woff2; font/woff woff; image/x-icon ico; text/plain txt;
        application/xml xml; application/pdf pdf; application/zip zip;
    }}
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
    gzip on;
    gzip_types text/css application/javascript application/json text/csv image/svg+xml text/plain application/xml;
    server {{
        listen 127.0.0.1:{port};
        location /stock/ {{
            alias {docroot}/;
            add_header Cache-Control "public, no-cache";
            add_header X-Content-Type-Options nosniff;
        }}
        location = /stock/json/main.json {{
            alias {docroot}/json/main.json;
            add_header Cache-Control "no-cache, no-store, must-revalidate";
            add_header X-Content-Type-Options nosniff;
            add_header Access-Control-Allow-Origin "*";
        }}
    }}
}}
""".format(as_root=as_root, d=d, port=NGINX_PORT, docroot=docroot)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


class Setup:
    """What the servers are given: the stock tree, the floor, the feed's
    directories and httpd.conf (checked with httpd -t)."""

    def __init__(self, user, group, ref):
        self.user, self.group = user, group
        self.docroot = stock_tree(ref)
        self.floor = Floor(self.docroot)
        self.incoming, self.store = feed_dirs(user, group)
        self.conf = write_httpd_conf(user, group, self.docroot, self.floor.so,
                                     self.floor.file, self.floor.casilla_file,
                                     self.incoming, self.store)
        run([HTTPD, "-t", "-f", self.conf], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)


# ------------------------------------------------------------ start, wait, GET

def start(setup):
    """httpd, and nginx when installed.  Returns httpd's process and the
    targets: name -> (base URL, prefix of the package's paths)."""
    httpd = subprocess.Popen([HTTPD, "-f", setup.conf, "-DFOREGROUND"])
    procs.append(httpd)
    wait_port(PORT, "httpd", httpd)
    targets = {"prep": ("http://127.0.0.1:%d" % PORT, PREFIX),
               "floor": ("http://127.0.0.1:%d" % PORT, ""),
               "stock": ("http://127.0.0.1:%d" % PORT, STOCK)}
    if shutil.which("nginx"):
        nconf = write_nginx_conf(setup.user, setup.group, setup.docroot)
        ng = subprocess.Popen(["nginx", "-c", nconf, "-p", os.path.dirname(nconf)],
                              stderr=subprocess.DEVNULL)
        procs.append(ng)
        wait_port(NGINX_PORT, "nginx", ng)
        targets["nginx"] = ("http://127.0.0.1:%d" % NGINX_PORT, STOCK)
    return httpd, targets


def wait_port(port, what, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            die("%s exited (status %s)" % (what, proc.returncode))
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.1)
    die("%s does not answer on 127.0.0.1:%d" % (what, port))


def get(path, port=PORT, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


# ------------------------------------------------------------ httpd's workers

LISTEN_INODES = set()


def find_listen_inodes():
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.split(":")[1], 16) == PORT:
                LISTEN_INODES.add(inode)


def listening(pid):
    """Whether pid holds httpd's listening socket: the workers do, the
    intake closed it."""
    try:
        fds = os.listdir("/proc/%s/fd" % pid)
    except OSError:
        return False
    inodes = set()
    for fd in fds:
        try:
            link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if m:
            inodes.add(m.group(1))
    return bool(inodes & LISTEN_INODES)
