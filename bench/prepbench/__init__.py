"""prepbench — the parts of bench/run, one measurement per module.

  common    the knobs (BENCH_*), the paths, messages, the processes started
  machine   the machine (for the header) and the CPU others use on it
  packages  genpackage packages, cached in bench/work/packages, and the plan
  servers   httpd (mod_prep, stock, the floor) and nginx: configs, start, stop
  wrk       the wrk driver and the parsing of its BENCHJSON line
  serving   (a)-(d): wrk against every server in alternated rounds
  profile   perf record of httpd's workers while (a) runs
  tls       (a), (b) over TLS 1.3, HTTP/1.1 and HTTP/2, next to nginx (gzip on,
            gzip_static); its profile; tls-tune: httpd's settings one by one
  live      package-to-live: upload as SFTP does, wait for the new corte
  swaps     10 swaps under load; RSS and store across BENCH_SWAPS swaps
  memoria   prepctl report over a generated election night's access log
            (cached in bench/work/memoria), next to goaccess; no server
  report    the printed markdown: tables, ratios, targets, results.md
"""
