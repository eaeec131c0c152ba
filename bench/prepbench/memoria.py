"""The memoria técnica: `prepctl report` over the access log of an election
night, next to goaccess on the same file.  No httpd: the log is generated.

The night (2024-06-02 18:00 to 06-03 06:00, -06:00) of a state PREP at
https://prep.ieeq.mx/prep/: the first corte at 20:00, then one every 5 to
10 minutes, each published about a minute after its time.  Visits arrive
as a Poisson stream whose rate follows the evening (a slow start, the peak
around 23:00, a long tail) and jumps after each publication (people come
back to look at the new corte).  A visitor is a client address and a
User-Agent (~60 % phones: Android Chrome, iPhone Safari, Samsung Internet,
the Facebook app; the rest desktops), many behind the carriers' shared
addresses, some IPv6; a visitor may come back several times.  A visit
lands on a page (its assets fetched the first time, revalidated later:
304), then, by its kind, looks around for a few minutes, keeps the tab open
polling json/main.json every 60 s (200 with the data files of its page
after a new corte, 304 otherwise) for up to hours, looks up casillas, or
downloads the CSV (logged when it ends, so its line comes late).  Crawlers
(Googlebot, bingbot, the link previews of the social networks), a
/prep-status check every 5 s and an uptime check every minute, 404s, 408s
of preconnected sockets, scanners, requests outside /prep and a few
unparsable lines (a line cut by a full disk, an error-log line) complete
it.  The night comes out within ~2 % of the size asked; random lines are
then left out or written twice (a lost line, a retried request) to make it
exactly that size.

The logs are cached in bench/work/memoria/ by size (and GEN, the
generator's version), with a journal of the same cortes in
bench/work/memoria/store-gGEN/ so that the report also counts the traffic
per corte.  Measured with /usr/bin/time (wall time, CPU time, peak RSS):

    prepctl report ref --store STORE --location /prep --log FILE \\
        --out OUT --format json,csv
    goaccess FILE --log-format=COMBINED --no-global-config \\
        --no-query-string -o OUT.json            (when installed)

BENCH_REPORT_LINES [1000000,10000000]: the sizes; BENCH_REPORT_ROUNDS [2]:
runs of prepctl report per size (the fastest is shown); goaccess runs once,
stopped after BENCH_REPORT_GOACCESS_S [300] seconds (it needs ~10 min for
10M lines here)."""

import datetime as dt
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import time

from .common import TOP, WORK, die, procs, say
from .machine import Others
from .report import emit, fmt_bytes, verdict

GEN = 1  # the generator's version: a change of the model makes new logs
LINES = [int(x) for x in os.environ.get("BENCH_REPORT_LINES",
                                        "1000000,10000000").split(",") if x.strip()]
ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "2"))
DIR = os.path.join(WORK, "memoria")
PREPCTL = os.path.join(TOP, "prepctl")
TARGET_LPS = 1000000 / 5.0  # the issue: at least 1 million lines per 5 s
TIMEOUT = 600  # seconds, a run of prepctl report
GOACCESS_S = int(os.environ.get("BENCH_REPORT_GOACCESS_S", "300"))
TIME = "/usr/bin/time"

ZONE = dt.timezone(dt.timedelta(hours=-6))
NIGHT = dt.datetime(2024, 6, 2, 18, 0, 0, tzinfo=ZONE)
NIGHT_S = 12 * 3600
FIRST_CORTE_S = 2 * 3600  # 20:00
SITE = "https://prep.ieeq.mx"
BASE = "/prep/"
POLL_S = 60
VISITORS_PER_LINE = 0.02  # ~200,000 distinct address + User-Agent at 10M

# ------------------------------------------------------------------ the site

# (path under /prep/, gzip bytes as served; %O adds the headers)
PAGES = [("index.html", 5200), ("presidencia.html", 6100), ("ayuntamientos.html", 5800),
         ("diputaciones.html", 5700), ("casillas.html", 4300), ("base-de-datos.html", 3100),
         ("acerca.html", 2900), ("distritos/index.html", 4800),
         ("municipios/index.html", 4700)]
PAGE_INDEX = {name: i for i, (name, _size) in enumerate(PAGES)}
PAGE_INDEX[""] = 0  # /prep/
PAGE_WEIGHTS = [0, 30, 22, 18, 14, 4, 1, 6, 5]  # where a visitor goes next
ENTIDADES = 32  # presidencia/entidad-NN.html: the presidential race by state
ASSETS = [("css/bootstrap.min.css", 25100), ("css/prep.css", 3900),
          ("js/vendor.min.js", 31800), ("js/prep.js", 2600), ("img/logo-ieeq.svg", 740),
          ("img/escudo.png", 9800), ("img/mapa-queretaro.png", 21400),
          ("fonts/Roboto-Regular.woff2", 24100), ("favicon.ico", 1150)] + [
    ("img/partidos/%s.svg" % p, 410) for p in
    ("pan", "pri", "prd", "pvem", "pt", "mc", "morena", "qs", "ci")]
REVALIDATED = 6  # the assets a later page load revalidates (css, js, logo)
MUNICIPIOS = ["Amealco%20de%20Bonfil", "Pinal%20de%20Amoles", "Arroyo%20Seco",
              "Cadereyta%20de%20Montes", "Col%C3%B3n", "Corregidora", "Ezequiel%20Montes",
              "Huimilpan", "Jalpan%20de%20Serra", "Landa%20de%20Matamoros",
              "El%20Marqu%C3%A9s", "Pedro%20Escobedo", "Pe%C3%B1amiller",
              "Quer%C3%A9taro", "San%20Joaqu%C3%ADn", "San%20Juan%20del%20R%C3%ADo",
              "Tequisquiapan", "Tolim%C3%A1n"]
TIPOS = ["B", "C1", "C2", "C3", "E1", "S1"]
CSV_GZ = 1712000  # datos/PRES_2024.csv, gzip
CSV_PLAIN = 7741000

# ------------------------------------------------------------------ who asks


def mobile_agents(rng):
    """Real-looking phone User-Agents, the common ones first."""
    android = ["10; K", "13; SM-A145M", "12; SM-A125M", "13; moto g(30)", "11; Redmi Note 8",
               "13; SM-A536E", "12; moto e(7i) power", "13; 2201117TL", "14; SM-S911B",
               "12; M2101K7AG", "13; CPH2487", "11; SM-A025M", "13; motorola edge 30",
               "10; LM-K200", "12; Redmi Note 11", "14; Pixel 7", "13; V2203",
               "11; HUAWEI Y9a", "12; TECNO KG5", "13; moto g54 5G"]
    chrome = ["125.0.6422.113", "125.0.6422.72", "124.0.6367.179", "124.0.6367.113",
              "123.0.6312.118", "122.0.6261.119", "120.0.6099.230", "116.0.0.0"]
    ios = ["17_5", "17_4_1", "17_4", "17_3_1", "16_7_8", "17_1_2", "16_6_1", "15_8_2"]
    out = []
    for c in chrome:
        for a in android:
            out.append("Mozilla/5.0 (Linux; Android %s) AppleWebKit/537.36 (KHTML, like "
                       "Gecko) Chrome/%s Mobile Safari/537.36" % (a, c))
    for v in ios:
        short = v.split("_")[0] + "." + v.split("_")[1]
        out.append("Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Version/%s Mobile/15E148 Safari/604.1" % (v, short))
        out.append("Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) CriOS/125.0.6422.80 Mobile/15E148 Safari/604.1" % v)
        out.append("Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Mobile/21F90 [FBAN/FBIOS;FBAV/466.0.0.40.107;"
                   "FBBV/612345678;FBDV/iPhone14,7;FBMD/iPhone;FBSN/iOS;FBSV/%s;"
                   "FBSS/3;FBID/phone;FBLC/es_LA;FBOP/5]" % (v, v.replace("_", ".")))
    for a in android[:8]:
        out.append("Mozilla/5.0 (Linux; Android %s) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36" % a)
        out.append("Mozilla/5.0 (Linux; Android %s; wv) AppleWebKit/537.36 (KHTML, like "
                   "Gecko) Version/4.0 Chrome/125.0.6422.113 Mobile Safari/537.36 "
                   "[FB_IAB/FB4A;FBAV/466.0.0.46.85;]" % a)
    rng.shuffle(out)
    return out


def desktop_agents(rng):
    out = []
    for c in ("125.0.0.0", "124.0.0.0", "123.0.0.0", "122.0.0.0", "109.0.0.0"):
        out.append("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                   "like Gecko) Chrome/%s Safari/537.36" % c)
        out.append("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/%s Safari/537.36" % c)
        out.append("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                   "like Gecko) Chrome/%s Safari/537.36 Edg/%s" % (c, c))
        out.append("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/%s Safari/537.36" % c)
    for f in ("126.0", "125.0", "115.0"):
        out.append("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:%s) Gecko/20100101 "
                   "Firefox/%s" % (f, f))
        out.append("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:%s) Gecko/20100101 "
                   "Firefox/%s" % (f, f))
    for s in ("17.5", "17.4.1", "16.6"):
        out.append("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Version/%s Safari/605.1.15" % s)
    rng.shuffle(out)
    return out


CRAWLERS = [
    ("66.249.66.%d", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("66.249.68.%d", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/"
     "537.36 (KHTML, like Gecko) Chrome/125.0.6422.141 Mobile Safari/537.36 (compatible; "
     "Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("40.77.167.%d", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; "
     "bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36"),
    ("157.55.39.%d", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    ("69.171.249.%d", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"),
    ("199.16.157.%d", "Twitterbot/1.0"),
    ("17.241.219.%d", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; "
     "+http://www.apple.com/go/applebot)"),
    ("5.255.231.%d", "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"),
]
LANDING_REFERERS = ["-"] * 35 + ["https://www.google.com/"] * 20 + [
    "https://www.google.com.mx/"] * 8 + ["http://m.facebook.com/"] * 12 + [
    "https://l.facebook.com/"] * 5 + ["https://t.co/"] * 5 + ["https://www.ieeq.mx/"] * 10 + [
    "android-app://com.google.android.googlequicksearchbox/"] * 5

# ------------------------------------------------------------------ the night


def night_cortes():
    """The cortes (seconds into the night of their time, of their
    publication): the same for every size."""
    rng = random.Random(20240602)
    ri, pick = rng.randint, rng.choice
    out, t = [], FIRST_CORTE_S
    while t < NIGHT_S - 300:
        out.append((t, t + ri(40, 90)))
        t += pick((300, 300, 360, 420, 480, 540, 600))
    return out


def evening(s):
    """The rate of new visits over the night, relative to its peak."""
    h = s / 3600.0  # hours since 18:00
    points = [(0, 0.10), (1, 0.14), (2, 0.35), (3, 0.62), (4, 0.88), (5, 1.0), (6, 0.92),
              (7, 0.70), (8, 0.45), (9, 0.30), (10, 0.22), (11, 0.18), (12, 0.16)]
    for (h0, r0), (h1, r1) in zip(points, points[1:]):
        if h <= h1:
            return r0 + (r1 - r0) * (h - h0) / (h1 - h0)
    return points[-1][1]


def poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam < 30:
        n, p, limit = 0, 1.0, math.exp(-lam)
        while True:
            p *= rng.random()
            if p <= limit:
                return n
            n += 1
    return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))


class Night:
    """One night's log: visits scheduled second by second in buckets."""

    def __init__(self, scale, p_new, seed, out=None):
        self.rng = random.Random(seed)
        rnd = self.rng.random
        # draws from random() alone: randint and choice cost several calls
        self.ri = lambda a, b: a + int(rnd() * (b - a + 1))
        self.pick = lambda seq: seq[int(rnd() * len(seq))]
        self.scale = scale
        self.p_new = p_new
        self.out = out  # a file, or None: only count
        self.count = 0
        self.fixed = 0  # lines whatever the rate (monitors)
        self.arrivals = 0
        self.cortes = night_cortes()
        self.mobile = mobile_agents(random.Random(1))
        self.desktop = desktop_agents(random.Random(2))
        self.cgnat = ["189.203.%d.%d" % (self.ri(0, 255), self.ri(1, 254))
                      for _ in range(1500)] + [
            "201.141.%d.%d" % (self.ri(0, 255), self.ri(1, 254))
            for _ in range(800)]
        self.pre = []   # per visitor: "ADDR - - ["
        self.post = []  # per visitor: '" "AGENT"\n'
        self.proto = []  # per visitor: ' HTTP/2.0" ' or ' HTTP/1.1" '
        self.mob = []
        self.crawlers = []
        for ip, ua in CRAWLERS:
            for k in range(6):
                self.crawlers.append(self.visitor(ip % self.ri(2, 250), ua, False, 1))
        self.monitor = self.visitor("127.0.0.1", "Prometheus/2.45.3", False, 0)
        self.uptime = self.visitor("69.162.124.%d" % self.ri(224, 238),
                                   "Mozilla/5.0+(compatible; UptimeRobot/2.0; "
                                   "http://www.uptimerobot.com/)", False, 0)
        self.operator = self.visitor("10.20.0.15", "curl/7.88.1", False, 0)
        self.humans = []  # visitor indexes of people seen so far

    def visitor(self, ip, ua, mobile, h2):
        self.pre.append(ip + " - - [")
        self.post.append('" "' + ua + '"\n')
        self.proto.append(' HTTP/2.0" ' if h2 else ' HTTP/1.1" ')
        self.mob.append(mobile)
        return len(self.pre) - 1

    def new_person(self):
        rng, ri, pick = self.rng, self.ri, self.pick
        mobile = rng.random() < 0.60
        agents = self.mobile if mobile else self.desktop
        # the first agents of the list are the most common (the top one
        # ~12 % of the phones, the first tenth ~40 %)
        ua = agents[int(len(agents) * rng.random() ** 2.5)]
        r = rng.random()
        if mobile and r < 0.45:
            ip = pick(self.cgnat)  # the carriers' shared addresses
        elif r < 0.72:
            ip = "%d.%d.%d.%d" % (pick((187, 189, 200, 201, 177, 148, 189, 187)),
                                  ri(0, 255), ri(0, 255),
                                  ri(1, 254))
        else:
            ip = "2806:%x:%x:%x:%x:%x:%x:%x" % tuple(ri(0, 0xffff) for _ in range(7))
        return self.visitor(ip, ua, mobile, rng.random() < 0.8)

    # -------------------------------------------------------------- lines

    def line(self, v, path, code, nbytes, ref):
        self.count += 1
        if self.out is not None:
            self.lines.append("%s%s] \"GET %s%s%d %s \"%s%s" % (
                self.pre[v], self.ts, path, self.proto[v], code, nbytes, ref, self.post[v]))

    def page_load(self, visit, page, first, landing):
        """The page and what it asks for: assets (200 the first time,
        some revalidated later), main.json and the page's data."""
        rng, ri, pick = self.rng, self.ri, self.pick
        v = visit[0]
        name, size = PAGES[page] if page >= 0 else ("presidencia/entidad-%02d.html"
                                                    % ri(1, ENTIDADES), 5900)
        if landing and page == 0 and rng.random() < 0.35:
            name = ""  # /prep/
            if rng.random() < 0.08:
                self.line(v, "/prep", 301, 520, "-")
        ref = pick(LANDING_REFERERS) if landing else SITE + BASE + visit[4]
        url = SITE + BASE + name
        if first or rng.random() < 0.5:
            self.line(v, BASE + name, 200, size + ri(380, 460), ref)
        else:
            self.line(v, BASE + name, 304, ri(180, 240), ref)
        visit[4] = name
        if first:
            for a, asize in ASSETS:
                self.line(v, BASE + a, 200, asize + ri(300, 420), url)
            if self.mob[v] and rng.random() < 0.3 and "iPhone" in self.post[v]:
                self.line(v, "/apple-touch-icon-precomposed.png", 404, 455, "-")
                self.line(v, "/apple-touch-icon.png", 404, 455, "-")
            if rng.random() < 0.02:
                self.line(v, BASE + "img/partidos/pes.svg", 404, 470, url)
        else:
            for a, _asize in ASSETS[:REVALIDATED]:
                if rng.random() < 0.5:
                    self.line(v, BASE + a, 304, ri(180, 240), url)
        self.main_json(visit, url, True)

    def main_json(self, visit, url, loading):
        v, corte = visit[0], self.corte
        path = BASE + "json/main.json"
        if visit[5]:
            path += "?_=%d" % (self.epoch_ms + self.ri(0, 999))
        if corte > visit[2] or (loading and visit[5]):
            self.line(v, path, 200, 4380 + 3 * corte + self.ri(-40, 40), url)
            if corte > visit[2] and corte >= 0:
                self.data_files(visit, url)
            visit[2] = corte
        else:
            self.line(v, path, 304, self.ri(180, 240), url)

    def data_files(self, visit, url):
        rng, ri, pick = self.rng, self.ri, self.pick
        page = visit[4]
        if page.startswith("municipios") or page.startswith("ayuntamientos"):
            self.line(visit[0], BASE + "json/municipios/%s.json" % pick(MUNICIPIOS),
                      200, ri(2400, 3900), url)
        elif page.startswith("distritos") or page.startswith("diputaciones"):
            self.line(visit[0], BASE + "json/distritos/distrito-%02d.json" %
                      ri(1, 15), 200, ri(2100, 3300), url)
        elif page.startswith("casillas"):
            self.casilla(visit, url)

    def casilla(self, visit, url):
        rng, ri, pick = self.rng, self.ri, self.pick
        if rng.random() < 0.03:
            self.line(visit[0], BASE + "json/casillas/%04d-%s.json" % (
                ri(1, 9999), pick(("X", "B1", "c1"))), 404, 470, url)
        else:
            self.line(visit[0], BASE + "json/casillas/%04d-%s.json" % (
                ri(1, 2900), pick(TIPOS)), 200, ri(560, 720), url)

    # -------------------------------------------------------------- visits

    def new_visit(self, s):
        """[visitor, end, corte seen, kind, page, cache-busting poll]"""
        rng, ri, pick = self.rng, self.ri, self.pick
        self.arrivals += 1
        if not self.humans or rng.random() < self.p_new:
            v = self.new_person()
            self.humans.append(v)
            first = True
        else:
            v = self.humans[int(rng.random() * len(self.humans))]
            first = rng.random() < 0.15  # a cleared cache, another browser profile
        r = rng.random()
        if r < 0.63:
            kind, length = "look", ri(15, 300)
        elif r < 0.85:
            kind, length = "follow", ri(300, 1800)
        elif r < 0.87:
            kind, length = "night", ri(3600, 14400)
        elif r < 0.98:
            kind, length = "casilla", ri(60, 480)
        else:
            kind, length = "data", ri(30, 240)
        visit = [v, s + length, -1, kind, "", rng.random() < 0.35]
        if kind == "casilla":
            page = 4
        elif kind == "data":
            page = 5
        elif rng.random() < 0.18:
            page = -1 if rng.random() < 0.4 else pick((1, 2, 3))
        else:
            page = 0
        self.page_load(visit, page, first, True)
        if kind == "data":
            self.late(s, visit, url=SITE + BASE + "base-de-datos.html")
        return visit

    def late(self, s, visit, url):
        """The CSV: its line is written when the download ends."""
        rng, ri, pick = self.rng, self.ri, self.pick
        gz = rng.random() < 0.85
        size = CSV_GZ if gz else CSV_PLAIN
        if rng.random() < 0.06:
            self.line(visit[0], BASE + "datos/PRES_2024.csv", 206,
                      ri(200000, size), url)
        else:
            self.line(visit[0], BASE + "datos/PRES_2024.csv", 200, size + 430, url)
        if self.out is not None:
            done = s + ri(2, 40 if self.mob[visit[0]] else 10)
            self.pending.setdefault(done, []).append(self.lines.pop())

    def step(self, visit, s):
        """What a visit does at second s; the second of its next step, or
        None when it is over."""
        rng, ri, pick = self.rng, self.ri, self.pick
        kind, url = visit[3], SITE + BASE + visit[4]
        if kind in ("follow", "night"):
            r = rng.random()
            if r < 0.06:
                self.page_load(visit, rng.choices(range(len(PAGES)), PAGE_WEIGHTS)[0]
                               if rng.random() < 0.85 else -1, False, False)
            elif r < 0.08:  # a reload
                self.page_load(visit, PAGE_INDEX.get(visit[4], -1), False, False)
            else:
                self.main_json(visit, url, False)
            nxt = s + POLL_S + (ri(0, 3) if rng.random() < 0.3 else 0)
        elif kind == "look":
            r = rng.random()
            if r < 0.45:
                self.page_load(visit, rng.choices(range(len(PAGES)), PAGE_WEIGHTS)[0]
                               if rng.random() < 0.8 else -1, False, False)
            elif r < 0.60:
                self.casilla(visit, url)
            else:
                self.main_json(visit, url, False)
            nxt = s + ri(10, 90)
        elif kind == "casilla":
            for _ in range(ri(1, 3)):
                self.casilla(visit, url)
            nxt = s + ri(10, 45)
        else:  # data: the download is the visit
            return None
        return nxt if nxt < visit[1] else None

    def crawl(self):
        rng, ri, pick = self.rng, self.ri, self.pick
        v = pick(self.crawlers)
        r = rng.random()
        if r < 0.05:
            self.line(v, BASE + "robots.txt", 200, 410, "-")
        elif r < 0.08:
            self.line(v, BASE + "sitemap.xml", 200, 980, "-")
        elif r < 0.55:
            name, size = PAGES[int(rng.random() * len(PAGES))]
            self.line(v, BASE + name, 200 if rng.random() < 0.8 else 304, size + 400, "-")
        elif r < 0.75:
            self.line(v, BASE + "presidencia/entidad-%02d.html" % ri(1, 32), 200, 6300, "-")
        else:
            self.line(v, BASE + "json/main.json", 200, 4700, "-")

    def others(self, s):
        """Monitors, crawlers, scanners, 408s, the odd unparsable line."""
        rng, ri, pick = self.rng, self.ri, self.pick
        before = self.count
        if s % 5 == 0:
            self.line(self.monitor, "/prep-status?json", 200, ri(3900, 4300), "-")
        if s % 60 == 17:
            self.line(self.uptime, BASE, 200, 5620, "https://prep.ieeq.mx/prep/")
        if s % 900 == 0 and rng.random() < 0.5:
            self.line(self.operator, "/prep-status", 200, 9100, "-")
        for _ in range(poisson(rng, 0.3)):  # crawlers come whatever the traffic
            self.crawl()
        self.fixed += self.count - before  # the lines that do not grow with the rate
        for _ in range(poisson(rng, self.crawl_rate)):
            self.crawl()
        for _ in range(poisson(rng, self.noise_rate)):
            v = self.humans[int(rng.random() * len(self.humans))] if self.humans else self.monitor
            r = rng.random()
            if r < 0.55:
                # a preconnected socket the browser never used
                self.count += 1
                if self.out is not None:
                    self.lines.append('%s%s] "-" 408 0 "-" "-"\n' % (self.pre[v], self.ts))
            elif r < 0.75:
                self.line(v, "/favicon.ico", 404, 455, "-")
            elif r < 0.85:
                self.line(v, "/", 302, 560, "-")
            else:
                scan = self.visitor("45.%d.%d.%d" % (ri(0, 255), ri(0, 255),
                                                     ri(1, 254)),
                                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                                    "AppleWebKit/537.36 (KHTML, like Gecko) "
                                    "Chrome/91.0.4472.114 Safari/537.36", False, 0)
                for p, code in (("/prep/.env", 404), ("/prep/wp-login.php", 404),
                                ("/prep/.git/config", 404), ("/prep/.htaccess", 403),
                                ("/.env", 404)):
                    self.line(scan, p, code, 470 if code == 404 else 450, "-")
        if rng.random() < self.bad_rate:
            self.count += 1
            if self.out is not None:
                if rng.random() < 0.5:  # cut by a full disk
                    whole = '%s%s] "GET /prep/json/main.json HTTP/1.1" 304 19' % (
                        self.pre[self.monitor], self.ts)
                    self.lines.append(whole[:ri(12, len(whole) - 1)] + "\n")
                else:
                    self.lines.append("[%s] [core:error] [pid %d:tid %d] (28)No space left on "
                                      "device: AH00646: Error writing to logs/access.log\n" % (
                                          (NIGHT + dt.timedelta(seconds=self.s)).strftime(
                                              "%a %b %d %H:%M:%S.%f %Y"),
                                          ri(1000, 9000), ri(10**14, 10**15)))

    def run(self):
        rng, ri, pick = self.rng, self.ri, self.pick
        cortes = self.cortes
        buckets = [[] for _ in range(NIGHT_S + 1)]
        self.pending = {}
        self.corte = -1
        self.crawl_rate = 0.0
        nxt_pub = 0
        base = self.scale
        # the rates of the rest, in lines per second, relative to the visits'
        self.noise_rate = base * 0.05
        self.bad_rate = 1e-4 * max(1.0, base)
        for s in range(NIGHT_S):
            self.s = s
            t = NIGHT + dt.timedelta(seconds=s)
            self.ts = t.strftime("%d/%b/%Y:%H:%M:%S -0600")
            self.epoch_ms = int(t.timestamp()) * 1000
            self.lines = []
            while nxt_pub < len(cortes) and cortes[nxt_pub][1] <= s:
                self.corte = nxt_pub
                nxt_pub += 1
            burst = 1.0
            if self.corte >= 0:
                since = s - cortes[self.corte][1]
                burst += 2.5 * math.exp(-since / 100.0)
            lam = base * evening(s) * burst
            self.crawl_rate = base * evening(s) * 1.2
            for _ in range(poisson(rng, lam)):
                visit = self.new_visit(s)
                if visit[1] > s:
                    buckets[min(NIGHT_S, s + ri(5, 40))].append(visit)
            for visit in buckets[s]:
                n = self.step(visit, s)
                if n is not None and n < NIGHT_S:
                    buckets[n].append(visit)
            buckets[s] = None
            self.others(s)
            if self.out is not None:
                late = self.pending.pop(s, None)
                if late:
                    self.lines.extend(late)
                self.out.write("".join(self.lines))
        if self.out is not None:
            for k in sorted(self.pending):
                self.out.write("".join(self.pending[k]))


def journal_lines():
    """A journal of the night's cortes: the start, then seen and
    published for each (a refusal at the 23:00 rush)."""
    def iso(s, ms=0):
        t = NIGHT + dt.timedelta(seconds=s, milliseconds=ms)
        return t.isoformat(timespec="milliseconds")
    out = [{"at": iso(-1800, 114), "feed": "ref", "event": "start", "served": None,
            "state": "waiting", "pid": 4242}]
    for k, (c, pub) in enumerate(night_cortes()):
        ct = NIGHT + dt.timedelta(seconds=c)
        utc = ct.astimezone(dt.timezone.utc)
        sha = "%064x" % random.Random(k).getrandbits(256)
        pkg = "PREP_QRO_2024_%s.tar.gz" % ct.strftime("%H%M")
        if k == 30:
            out.append({"at": iso(pub - 50, 410), "feed": "ref", "event": "refused",
                        "package": "PREP_QRO_2024_%s_b.tar.gz" % ct.strftime("%H%M"),
                        "reason": "corrupt", "message": "gzip: unexpected end of file"})
        corte = {"id": "%s-%s" % (utc.strftime("%Y%m%dT%H%M%SZ"), sha[:8]),
                 "time": ct.isoformat(),
                 "label": "Último corte: %s (Tiempo del Centro, UTC-06:00)" %
                          ct.strftime("%d/%m/%Y %H:%M"),
                 "package": pkg, "sha256": sha, "files": 8012, "bytes": 31457280,
                 "loaded_at": iso(pub, 20), "load_ms": 2140}
        out.append({"at": iso(pub - 3, 5), "feed": "ref", "event": "seen", "package": pkg})
        out.append({"at": iso(pub, 208), "feed": "ref", "event": "published", "corte": corte})
    return out


def ensure_store():
    store = os.path.join(DIR, "store-g%d" % GEN)
    if not os.path.exists(os.path.join(store, "journal.jsonl")):
        os.makedirs(store, exist_ok=True)
        with open(os.path.join(store, "journal.jsonl.tmp"), "w") as f:
            for line in journal_lines():
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        os.rename(os.path.join(store, "journal.jsonl.tmp"),
                  os.path.join(store, "journal.jsonl"))
    return store


def exactly(src, dst, have, want, seed):
    """src (have lines) copied to dst with want lines: random lines left
    out (a line lost) or written twice (a request retried)."""
    rng = random.Random(seed)
    marks = sorted(rng.sample(range(have), abs(have - want))) if have != want else []
    marks.append(-1)
    twice = want > have
    k, nxt = 0, marks[0]
    with open(src, "r", buffering=1 << 22) as f, open(dst, "w", buffering=1 << 22) as g:
        for i, line in enumerate(f):
            if i == nxt:
                k += 1
                nxt = marks[k]
                if not twice:
                    continue
                g.write(line)
            g.write(line)
    os.unlink(src)


def ensure_log(n):
    """bench/work/memoria/night-N-gGEN.log, made when missing."""
    path = os.path.join(DIR, "night-%d-g%d.log" % (n, GEN))
    if os.path.exists(path):
        return path
    os.makedirs(DIR, exist_ok=True)
    t0 = time.monotonic()
    # How many lines and visits a unit of rate makes: nights counted, not
    # written, at a smaller rate (the visits do not depend on one another;
    # returning visitors make fewer requests, hence twice).
    cal_scale, p_new = 0.5, 0.7
    for _ in range(2):
        cal = Night(cal_scale, p_new, seed=7)
        cal.run()
        scale = cal_scale * (n - cal.fixed) / float(cal.count - cal.fixed)
        visits = cal.arrivals * scale / cal_scale
        p_new = min(1.0, VISITORS_PER_LINE * n / visits)
    say("generating an election night of %d lines (~%.0f visits) into %s" % (
        n, visits, os.path.relpath(path, TOP)))
    with open(path + ".tmp", "w", buffering=1 << 22) as f:
        night = Night(scale, p_new, seed=n, out=f)
        night.run()
    exactly(path + ".tmp", path + ".exact", night.count, n, seed=n)
    os.rename(path + ".exact", path)
    say("%d lines (%d made), %s, %d visitors, in %.0f s" % (
        n, night.count, fmt_bytes(os.path.getsize(path)), len(night.humans),
        time.monotonic() - t0))
    return path


# ------------------------------------------------------------------ measuring

def measure(cmd, out_file, limit):
    """Runs cmd under /usr/bin/time: (wall s, CPU s, peak RSS KB or None,
    exit status or None when stopped after `limit` s).  Not getrusage of
    a child of this process: a child forked from it starts with its
    high-water mark (the generator's lists), which ru_maxrss keeps
    across exec; time's own child starts from time's."""
    stats = out_file + ".time"
    timed = os.access(TIME, os.X_OK)
    full = ([TIME, "-f", "%e %U %S %M", "-o", stats] if timed else []) + cmd
    with open(out_file, "w") as out:
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        procs.append(p)
        try:
            p.wait(timeout=limit)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # time and its child, started here
            p.wait()
            rc = None
        wall = time.monotonic() - t0
        procs.remove(p)
    cpu, rss = None, None
    if timed and os.path.exists(stats):
        with open(stats) as f:
            last = f.read().split("\n")
        fields = [l for l in last if l.strip()][-1].split() if any(
            l.strip() for l in last) else []
        if len(fields) == 4:
            cpu, rss = float(fields[1]) + float(fields[2]), int(fields[3])
    return wall, cpu, rss, rc


def warm(path):
    """The log read once into the page cache, so that neither tool pays
    for the disk."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 23):
            pass


def count_lines(path):
    n = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 23)
            if not b:
                return n
            n += b.count(b"\n")


def run_once(cmd, out_file, limit):
    """One measured run: a dict of wall, cpu, rss (KB), rc, others (the
    CPU other processes used meanwhile, in % of the machine)."""
    others = Others()
    wall, cpu, rss, rc = measure(cmd, out_file, limit)
    return {"wall": wall, "cpu": cpu, "rss": rss, "rc": rc, "others": others.percent()}


def run_prepctl(path, store, n):
    out = os.path.join(DIR, "out-%d" % n)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [PREPCTL, "report", "ref", "--store", store, "--location", "/prep", "--log", path,
           "--out", out, "--format", "json,csv"]
    text = os.path.join(DIR, "prepctl-%d.txt" % n)
    runs = []
    for _ in range(max(1, ROUNDS)):
        r = run_once(cmd, text, TIMEOUT)
        if r["rc"] != 0:
            with open(text) as f:
                die("prepctl report failed (%s):\n%s" % (r["rc"], f.read()[-2000:]))
        runs.append(r)
    with open(os.path.join(out, "memoria.json")) as f:
        doc = json.load(f)
    return min(runs, key=lambda r: r["wall"]), runs, doc, cmd


def goaccess_version():
    g = shutil.which("goaccess")
    if not g:
        return None
    v = subprocess.run([g, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True).stdout
    m = re.search(r"GoAccess - ([0-9]+(?:\.[0-9]+)*)", v)
    return m.group(1) if m else "?"


def run_goaccess(path, n):
    """goaccess over the same log, its JSON report (what prepctl report
    writes too), query strings dropped as prepctl report drops them: the
    cache-busting ?_= of the polls would make a million URLs."""
    out = os.path.join(DIR, "goaccess-%d.json" % n)
    if os.path.exists(out):
        os.unlink(out)
    cmd = [shutil.which("goaccess"), path, "--log-format=COMBINED", "--no-global-config",
           "--no-query-string", "-o", out]
    r = run_once(cmd, os.path.join(DIR, "goaccess-%d.txt" % n), GOACCESS_S)
    r["general"] = {}
    if r["rc"] == 0 and os.path.exists(out):
        with open(out) as f:
            r["general"] = json.load(f).get("general", {})
    return r, cmd


def machine_lines():
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
    ver = subprocess.run([PREPCTL, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout.strip().splitlines()
    return [("nproc", str(os.cpu_count())), ("CPU", m.group(1) if m else "?"),
            ("kernel", os.uname().release), ("prepctl", ver[0] if ver else "?"),
            ("goaccess", goaccess_version() or "not installed")]


def bench_report(standalone):
    """Generates (or reuses) the logs, measures, prints the table."""
    if not os.access(PREPCTL, os.X_OK):
        die("%s is missing: run make first" % PREPCTL)
    store = ensure_store()
    logs = [(n, ensure_log(n)) for n in LINES]
    if standalone:
        emit("## mod_prep bench — %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        emit()
        for k, v in machine_lines():
            emit("- %s: %s" % (k, v))
        emit()
    rows = []
    for n, path in logs:
        warm(path)
        row = {"n": n, "lines": count_lines(path), "size": os.path.getsize(path), "ga": None}
        say("prepctl report over %s (%d lines)" % (os.path.relpath(path, TOP), row["lines"]))
        row["prep"], row["runs"], row["doc"], row["cmd"] = run_prepctl(path, store, n)
        if goaccess_version():
            say("goaccess over the same log (stopped after %d s)" % GOACCESS_S)
            row["ga"], row["ga_cmd"] = run_goaccess(path, n)
        rows.append(row)
    print_report(rows)


def shown(path):
    return os.path.relpath(path, TOP) if path.startswith(TOP) else path


def rss_of(r):
    return fmt_bytes(r["rss"] * 1024) if r["rss"] is not None else "?"


def print_report(rows):
    emit("### The memoria técnica: prepctl report over an election night's access log")
    emit()
    emit("A generated night (18:00–06:00 -06:00, %d cortes every 5–10 min, bursts after "
         "each, ~60 %% phones, revalidations, crawlers, /prep-status checks; "
         "bench/prepbench/memoria.py), in the page cache.  Wall time, CPU (user + "
         "system) and peak RSS (/usr/bin/time) of each tool; prepctl report: the fastest "
         "of %d runs; goaccess: one run, stopped after %d s.  Visitors: prepctl report's "
         "for the period, goaccess's summed per day." % (
             len(night_cortes()), max(1, ROUNDS), GOACCESS_S))
    emit()
    emit("| log | tool | wall | lines/s | CPU | peak RSS | visitors | visits | others' CPU "
         "| goaccess ÷ prepctl (wall) |")
    emit("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        pr, ga, s = row["prep"], row["ga"], row["doc"].get("summary", {})
        label = "%s lines, %s" % (format(row["lines"], ","), fmt_bytes(row["size"]))
        ratio = "—"
        if ga and ga["rc"] == 0:
            ratio = "%.1f×" % (ga["wall"] / pr["wall"])
        elif ga and ga["rc"] is None:
            ratio = "> %.0f×" % (ga["wall"] / pr["wall"])
        emit("| %s | prepctl report | %.2f s | %s | %.2f s | %s | %s | %s | %.0f%% | %s |" % (
            label, pr["wall"], format(int(row["lines"] / pr["wall"]), ","), pr["cpu"] or 0,
            rss_of(pr), format(s.get("visitors", 0), ","), format(s.get("visits", 0), ","),
            pr["others"], ratio))
        if ga is None:
            continue
        if ga["rc"] is None:
            emit("| %s | goaccess | stopped after %.0f s | < %s | %s | %s | | — | %.0f%% | |" % (
                label, ga["wall"], format(int(row["lines"] / ga["wall"]), ","),
                "%.0f s" % ga["cpu"] if ga["cpu"] else "?", rss_of(ga), ga["others"]))
        elif ga["rc"] != 0:
            emit("| %s | goaccess | failed (exit %d, see bench/work/memoria/goaccess-%d.txt) "
                 "| | | | | | | |" % (label, ga["rc"], row["n"]))
        else:
            emit("| %s | goaccess | %.2f s | %s | %.2f s | %s | %s | — | %.0f%% | |" % (
                label, ga["wall"], format(int(row["lines"] / ga["wall"]), ","), ga["cpu"] or 0,
                rss_of(ga), format(ga["general"].get("unique_visitors", 0), ","),
                ga["others"]))
    emit()
    emit("Commands (%s lines):" % format(rows[0]["n"], ","))
    emit()
    emit("```")
    emit(" ".join(shown(c) for c in rows[0]["cmd"]))
    if rows[0]["ga"]:
        emit(" ".join(shown(c) for c in rows[0]["ga_cmd"]))
    emit("```")
    emit()
    for row in rows:
        s = row["doc"].get("summary", {})
        li = row["doc"].get("traffic", {}).get("lines", {})
        emit("- %s lines: read %s, counted %s, outside /prep %s, unparsable %s; pages %s; "
             "visitors %s, visits %s; prepctl report runs: %s" % (
                 format(row["n"], ","), format(li.get("read", 0), ","),
                 format(li.get("counted", 0), ","),
                 format(li.get("outside_locations", 0), ","),
                 format(li.get("unparsable", 0), ","), format(s.get("pages", 0), ","),
                 format(s.get("visitors", 0), ","), format(s.get("visits", 0), ","),
                 ", ".join("%.2f s" % r["wall"] for r in row["runs"])))
    emit()
    for row in rows:
        pr = row["prep"]
        lps = row["lines"] / pr["wall"]
        ok = lps >= TARGET_LPS
        emit("%s: prepctl report, %s lines: %s lines/s (target ≥ %s lines/s: 1M lines "
             "per 5 s)" % ("PASS" if ok else "FAIL", format(row["n"], ","),
                           format(int(lps), ","), format(int(TARGET_LPS), ",")))
        verdict("prepctl report ≥ 1M log lines per 5 s (%s lines)" % format(row["n"], ","),
                ok, "%s lines/s, %.2f s, peak RSS %s" % (format(int(lps), ","), pr["wall"],
                                                       rss_of(pr)))
    emit()
