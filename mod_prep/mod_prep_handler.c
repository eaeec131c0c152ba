/* mod_prep_handler.c — answers a request below a `SetHandler prep`
 * Location from the feed's current corte: one lookup in the shared index,
 * headers from what the loader precomputed, the bytes straight from the
 * corte's pack file.  No stat, open or directory walk per request. */
#include "httpd.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "apr_strings.h"
#include "apr_fnmatch.h"
#include "apr_buckets.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "util_filter.h"

#include "mod_prep.h"

APLOG_USE_MODULE(prep);

/* --- answers that are not a file ----------------------------------- */

/* "02/06/2024 a las 20:00" from "2024-06-02T20:00:00-06:00": the date
 * and the time of an ISO-8601 time as they are said in Spanish. */
static const char *fecha_hora(apr_pool_t *p, const char *iso)
{
    return apr_psprintf(p, "%.2s/%.2s/%.4s a las %.5s", iso + 8, iso + 5, iso,
                        iso + 11);
}

static int send_unavailable(request_rec *r, const char *title, const char *text,
                            apr_int64_t retry_after)
{
    r->status = HTTP_SERVICE_UNAVAILABLE;
    apr_table_setn(r->headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_INT64_T_FMT, retry_after));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r,
               "<!DOCTYPE html>\n<html lang=\"es\"><head><meta "
               "charset=\"utf-8\"><title>%s</title></head>\n<body><h1>%s</h1>"
               "<p>%s</p></body></html>\n",
               title, title, text);
    return OK;
}

static int send_embargo(request_rec *r, prep_feed_rt_t *f, apr_time_t now)
{
    const prep_feed_t *c = &f->conf;
    const char *iso = prep_time_iso(r->pool, c->publish_from, &c->zone);

    return send_unavailable(
        r, "Resultados preliminares aún no publicados",
        apr_psprintf(r->pool,
                     "La publicación de los resultados comienza el %s "
                     "(%s, UTC%s).",
                     fecha_hora(r->pool, iso),
                     ap_escape_html(r->pool, c->zone.name),
                     prep_zone_offset_text(r->pool, &c->zone)),
        apr_time_sec(c->publish_from - now) + 1);
}

/* The path inside the corte, or NULL when the URL cannot name one:
 * "." and ".." components, and names starting with "." (never served). */
static const char *corte_path(request_rec *r, const prep_dir_conf_t *d,
                              int *is_root)
{
    const char *rel = r->uri, *c;
    apr_size_t blen = d->base ? strlen(d->base) : 0;

    if (blen && !strncmp(rel, d->base, blen)) {
        rel += blen;
    }
    *is_root = (*rel == '\0');
    if (*rel != '/') {
        return NULL;
    }
    rel++;
    for (c = rel; *c; c++) {
        if ((c == rel || c[-1] == '/') && (*c == '.' || *c == '/')) {
            return NULL;
        }
        if (*c == '\\') {
            return NULL;
        }
    }
    if (*rel == '\0' || rel[strlen(rel) - 1] == '/') {
        rel = apr_pstrcat(r->pool, rel, "index.html", NULL);
    }
    return rel;
}

/* --- the file ------------------------------------------------------ */

/* What an answer is, for what caches are told of it (RFC 9111, and
 * RFC 9213's targeted fields for a CDN). */
typedef enum {
    ANSWER_FILE,      /* a file of the corte, or a redirect inside it */
    ANSWER_NOT_FOUND, /* held no longer than main.json: never past its corte */
    ANSWER_REFUSED    /* 405: revalidated */
} answer_e;

/* Tells a CDN (CDN-Cache-Control) and Varnish or Fastly
 * (Surrogate-Control) to hold an answer for PrepEdgeTTL's main= lifetime,
 * whatever Cache-Control tells the browsers. */
static void set_edge_main(apr_table_t *h, const prep_feed_rt_t *f)
{
    if (f->edge_main) {
        apr_table_setn(h, "CDN-Cache-Control", f->edge_main);
        apr_table_setn(h, "Surrogate-Control", f->edge_main);
    }
}

/* The Cache-Control of a file (or of the redirect to a directory): the
 * first PrepCacheControl rule whose glob matches, else main.json's
 * mandated value, else revalidated by browsers and, with PrepEdgeTTL, held
 * that long by shared caches. */
static void set_cache_control(apr_table_t *h, const prep_dir_conf_t *d,
                              const char *path, apr_uint32_t flags)
{
    const char *value = NULL;
    int i;

    for (i = 0; i < d->cache_rules->nelts && !value; i++) {
        const prep_cache_rule_t *rule =
            &APR_ARRAY_IDX(d->cache_rules, i, prep_cache_rule_t);
        if (apr_fnmatch(rule->glob, path, APR_FNM_PATHNAME) == APR_SUCCESS) {
            value = rule->value;
        }
    }
    if (flags & PREP_F_NO_STORE) {
        set_edge_main(h, d->feed);
        if (!value) {
            value = "no-cache, no-store, must-revalidate";
        }
    }
    if (!value) {
        value = d->feed->edge_cache_control;
    }
    apr_table_setn(h, "Cache-Control", value);
}

/* What an answer that is no file says to caches (in err_headers_out,
 * which httpd sends with its error pages). */
static int answer(request_rec *r, const prep_dir_conf_t *d, answer_e what,
                  int status)
{
    apr_table_t *h = r->err_headers_out;

    if (what == ANSWER_NOT_FOUND) {
        set_edge_main(h, d->feed);
    }
    apr_table_setn(h, "Cache-Control", "no-cache");
    return status;
}

/* "dir" → "dir/": an answer of the corte, cached as its files are. */
static int redirect_to_dir(request_rec *r, const prep_dir_conf_t *d,
                           const char *path)
{
    const char *uri = ap_os_escape_path(r->pool, r->uri, 1);

    set_cache_control(r->err_headers_out, d, path, 0);

    uri = apr_pstrcat(r->pool, uri, "/", r->args ? "?" : "",
                      r->args ? r->args : "", NULL);
    apr_table_setn(r->headers_out, "Location",
                   ap_construct_url(r->pool, uri, r));
    return HTTP_MOVED_PERMANENTLY;
}

/* The q-value the client gives to each encoding in Accept-Encoding
 * (-1 when it names it neither by name nor by "*"). */
static void encoding_qvalues(request_rec *r, double q[3])
{
    const char *ae = apr_table_get(r->headers_in, "Accept-Encoding");
    double star = -1;
    char *list, *item, *state;

    q[PREP_ENC_GZIP] = q[PREP_ENC_BR] = -1;
    if (!ae) {
        return;
    }
    list = apr_pstrdup(r->pool, ae);
    for (item = apr_strtok(list, ",", &state); item;
         item = apr_strtok(NULL, ",", &state)) {
        char *params = strchr(item, ';'), *name;
        double qv = 1;

        if (params) {
            const char *qs;
            *params++ = '\0';
            if ((qs = ap_strcasestr(params, "q="))) {
                qv = atof(qs + 2);
            }
        }
        apr_collapse_spaces(item, item); /* returns the end, not item */
        name = item;
        if (!strcasecmp(name, "br")) {
            q[PREP_ENC_BR] = qv;
        } else if (!strcasecmp(name, "gzip") || !strcasecmp(name, "x-gzip")) {
            q[PREP_ENC_GZIP] = qv;
        } else if (!strcmp(name, "*")) {
            star = qv;
        }
    }
    if (q[PREP_ENC_BR] < 0) {
        q[PREP_ENC_BR] = star;
    }
    if (q[PREP_ENC_GZIP] < 0) {
        q[PREP_ENC_GZIP] = star;
    }
}

/* The banner slot, then the encoding: the highest q-value among the
 * variants this file has, br before gzip on a tie, identity otherwise.
 * *vary says whether variants exist (the answer depends on the header). */
static const prep_rep_t *choose_rep(request_rec *r, const prep_attached_t *a,
                                    const prep_index_entry_t *e,
                                    const prep_dir_conf_t *d, int *vary)
{
    const prep_rep_t *rep = NULL, *gz, *br;
    apr_uint32_t slot = prep_banner_slot(&d->banner);
    double q[3];

    if (!(prep_index_entry_flags(e) & PREP_F_HTML)) {
        slot = 0;
    } else if (slot > 0 &&
               !prep_index_entry_rep(a->index, e, slot, PREP_ENC_IDENTITY)) {
        /* a template added after this corte was loaded, or no <body> */
        slot = prep_index_entry_rep(a->index, e, 1, PREP_ENC_IDENTITY) ? 1 : 0;
    }
    gz = prep_index_entry_rep(a->index, e, slot, PREP_ENC_GZIP);
    br = prep_index_entry_rep(a->index, e, slot, PREP_ENC_BR);
    *vary = gz || br;
    if (*vary) {
        encoding_qvalues(r, q);
        if (br && q[PREP_ENC_BR] > 0 &&
            (!gz || q[PREP_ENC_BR] >= q[PREP_ENC_GZIP])) {
            rep = br;
        } else if (gz && q[PREP_ENC_GZIP] > 0) {
            rep = gz;
        } else if (br && q[PREP_ENC_BR] > 0) {
            rep = br;
        }
    }
    return rep ? rep
               : prep_index_entry_rep(a->index, e, slot, PREP_ENC_IDENTITY);
}

/* Headers every answer of a feed carries, 404, 405, 503 and redirects
 * included: in err_headers_out, which httpd sends with errors too. */
static void set_common_headers(request_rec *r, const prep_dir_conf_t *d,
                               const prep_attached_t *a)
{
    apr_table_t *h = r->err_headers_out;

    if (a) {
        apr_table_setn(h, "X-PREP-Corte", a->corte_iso);
        apr_table_setn(h, "X-PREP-Corte-Id", a->id);
        if (a->tag) {
            apr_table_setn(h, prep_cache_tag_header(d->feed->conf.cache_tag),
                           a->tag);
        }
    }
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "Referrer-Policy", "strict-origin-when-cross-origin");
    apr_table_setn(h, "Content-Security-Policy",
                   d->csp ? d->csp : "frame-ancestors 'self'");
    if (ap_ssl_conn_is_ssl(r->connection)) {
        apr_table_setn(h, "Strict-Transport-Security", "max-age=31536000");
    }
}

static void set_headers(request_rec *r, const prep_dir_conf_t *d,
                        const prep_attached_t *a, const char *path,
                        const prep_index_entry_t *e, const prep_rep_t *rep,
                        int vary)
{
    static const char *const encodings[] = {NULL, "gzip", "br"};

    apr_table_t *h = r->headers_out;
    apr_uint32_t flags = prep_index_entry_flags(e);

    ap_set_content_type(r, prep_index_entry_type(a->index, e));
    /* what mod_mime guessed from the name (AddEncoding .gz, AddLanguage)
     * is not ours to send: the encoding is the variant's, below */
    r->content_encoding = NULL;
    r->content_languages = NULL;
    apr_table_setn(h, "ETag", apr_pstrdup(r->pool, rep->etag));
    r->mtime = rep->banner ? a->corte_mtime : prep_index_entry_mtime(e);
    ap_set_last_modified(r);
    set_cache_control(h, d, path, flags);
    if (flags & PREP_F_CORS) {
        apr_table_setn(h, "Access-Control-Allow-Origin", "*");
    }
    if (vary) {
        apr_table_mergen(h, "Vary", "Accept-Encoding");
    }
    if (rep->encoding != PREP_ENC_IDENTITY && rep->encoding < 3) {
        apr_table_setn(h, "Content-Encoding", encodings[rep->encoding]);
    }
    ap_set_content_length(r, (apr_off_t)rep->length);
}

/* The pack bucket: a variant's bytes in the corte's pack, read with pread
 * at their own offset when httpd reads the bucket, at most PACK_CHUNK at a
 * time.  Not a file bucket: the pack's descriptor is shared by the child's
 * threads, and httpd reads a file bucket that it does not sendfile (under
 * 256 bytes, and every answer through mod_ssl or any filter that reads)
 * with a seek and a read, so that two threads reading two variants at
 * once got each other's bytes.  Each bucket holds a reference to its
 * corte, so that neither a set-aside bucket nor mod_http2 can read a
 * descriptor closed under it, and no request opens a file. */
#define PACK_CHUNK (128 * 1024)

typedef struct pack_span {
    apr_bucket_refcount refcount; /* first: apr_bucket_shared_* use it */
    prep_feed_rt_t *feed;
    prep_attached_t *corte;
} pack_span_t;

static void pack_bucket_destroy(void *data)
{
    pack_span_t *s = data;

    if (apr_bucket_shared_destroy(s)) {
        prep_corte_drop(s->feed, s->corte);
        apr_bucket_free(s);
    }
}

static apr_status_t pack_bucket_read(apr_bucket *b, const char **str,
                                     apr_size_t *len, apr_read_type_e block)
{
    pack_span_t *s = b->data;
    apr_size_t n = b->length > PACK_CHUNK ? PACK_CHUNK : b->length, done = 0;
    char *buf = apr_bucket_alloc(n ? n : 1, b->list);

    while (done < n) {
        ssize_t got = pread(s->corte->pack_fd, buf + done, n - done,
                            (off_t)(b->start + (apr_off_t)done));

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) { /* a pack shorter than its index says: damaged */
            apr_status_t rv = got < 0 ? errno : APR_EOF;

            ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                         "PREP0133: feed %s: cannot read the pack of corte "
                         "%s at %" APR_OFF_T_FMT,
                         s->feed->conf.name, s->corte->id,
                         b->start + (apr_off_t)done);
            apr_bucket_free(buf);
            return rv;
        }
        done += (apr_size_t)got;
    }
    if (b->length > n) {
        apr_bucket_split(b, n); /* the rest: a pack bucket after this one */
    }
    pack_bucket_destroy(s);
    apr_bucket_heap_make(b, buf, n, apr_bucket_free);
    *str = buf;
    *len = n;
    return APR_SUCCESS;
}

static const apr_bucket_type_t pack_bucket_type = {"PREP_PACK",
                                                   5,
                                                   APR_BUCKET_DATA,
                                                   pack_bucket_destroy,
                                                   pack_bucket_read,
                                                   apr_bucket_setaside_noop,
                                                   apr_bucket_shared_split,
                                                   apr_bucket_shared_copy};

static apr_bucket *pack_bucket_create(prep_feed_rt_t *f, prep_attached_t *a,
                                      const prep_rep_t *rep,
                                      apr_bucket_alloc_t *list)
{
    apr_bucket *b = apr_bucket_alloc(sizeof(*b), list);
    pack_span_t *s = apr_bucket_alloc(sizeof(*s), list);

    s->feed = f;
    s->corte = a;
    prep_corte_hold(f, a);
    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = list;
    b = apr_bucket_shared_make(b, s, (apr_off_t)rep->offset,
                               (apr_size_t)rep->length);
    b->type = &pack_bucket_type;
    return b;
}

static int send_rep(request_rec *r, prep_feed_rt_t *f, prep_attached_t *a,
                    const prep_rep_t *rep)
{
    apr_bucket_alloc_t *list = r->connection->bucket_alloc;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, list);

    if (rep->length) {
        APR_BRIGADE_INSERT_TAIL(bb, pack_bucket_create(f, a, rep, list));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(list));
    return ap_pass_brigade_fchk(r, bb, "mod_prep: sending %s", r->uri);
}

/* httpd's conditions, with If-None-Match winning over If-Modified-Since
 * as RFC 9110 13.2.2 says (httpd 2.4 wants both to hold). */
static int meets_conditions(request_rec *r)
{
    const char *ims = NULL;
    int rc;

    if (apr_table_get(r->headers_in, "If-None-Match") &&
        (ims = apr_table_get(r->headers_in, "If-Modified-Since"))) {
        apr_table_unset(r->headers_in, "If-Modified-Since");
    }
    rc = ap_meets_conditions(r);
    if (ims) {
        apr_table_setn(r->headers_in, "If-Modified-Since", ims);
    }
    return rc;
}

/* A balancer that must never give a client an older corte than one it
 * handed out already says which with X-PREP-Min-Corte: an origin that
 * serves an older one (or none) answers 503, to be asked elsewhere. */
static int behind(request_rec *r, const prep_attached_t *a)
{
    const char *min = apr_table_get(r->headers_in, "X-PREP-Min-Corte");

    return min && *min && (!a || strcmp(a->id, min) < 0);
}

int prep_handler(request_rec *r)
{
    const prep_dir_conf_t *d;
    prep_feed_rt_t *f;
    prep_traffic_t *t;
    prep_attached_t *a;
    const prep_index_entry_t *e;
    const prep_rep_t *rep;
    const char *path;
    apr_time_t now;
    int is_root, rc, vary, drill;

    if (!r->handler || strcmp(r->handler, "prep")) {
        return DECLINED;
    }
    d = ap_get_module_config(r->per_dir_config, &prep_module);
    f = d->feed;
    if (!f || !f->shm) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "PREP0121: SetHandler prep without a PrepServe for %s",
                      r->uri);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    t = prep_traffic_of(f, r);
    prep_traffic_add(t, PREP_TRAFFIC_REQUESTS, 1);
    now = apr_time_now();
    /* first, as it follows the slot: whether the feed runs a drill */
    a = prep_corte_acquire(f, r);
    drill = prep_corte_drill(f);
    if (drill) {
        /* every answer of a drill says so, errors and redirects too */
        apr_table_setn(r->err_headers_out, "X-PREP-Drill", "1");
    }
    /* a drill serves its cortes before PrepPublishFrom: it is rehearsed
     * before the night */
    if (f->conf.publish_from && now < f->conf.publish_from && !drill &&
        d->ignore_embargo != 1) {
        /* nothing of the corte, not even its time, before publication */
        set_common_headers(r, d, NULL);
        return send_embargo(r, f, now);
    }
    set_common_headers(r, d, a);
    if (behind(r, a)) {
        apr_table_setn(r->err_headers_out, "X-PREP-Behind", "1");
        return send_unavailable(r, "Resultados en actualización",
                                "Este servidor aún no publica el corte más "
                                "reciente; intente de nuevo en un momento.",
                                1);
    }
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return answer(r, d, ANSWER_REFUSED, HTTP_METHOD_NOT_ALLOWED);
    }
    path = corte_path(r, d, &is_root);
    if (is_root) {
        return redirect_to_dir(r, d, "");
    }
    if (!path) {
        prep_traffic_add(t, PREP_TRAFFIC_NOT_FOUND, 1);
        return answer(r, d, ANSWER_NOT_FOUND, HTTP_NOT_FOUND);
    }
    if (!a) {
        return send_unavailable(r, "Aún no hay resultados publicados",
                                "Los resultados preliminares aparecerán aquí "
                                "en cuanto se reciba el primer corte.",
                                30);
    }
    e = prep_index_lookup(a->index, path, strlen(path));
    if (e && (prep_index_entry_flags(e) & PREP_F_DIR)) {
        return redirect_to_dir(r, d, path);
    }
    if (!e || !(rep = choose_rep(r, a, e, d, &vary))) {
        prep_traffic_add(t, PREP_TRAFFIC_NOT_FOUND, 1);
        return answer(r, d, ANSWER_NOT_FOUND, HTTP_NOT_FOUND);
    }
    /* a corte live before its variants were made (PREP_DEFER_VARIANTS):
     * the answer of a file still without them depends on the header too */
    if (!vary && a->corte && a->corte->variants_pending &&
        prep_mime_compressible(path)) {
        vary = 1;
    }
    set_headers(r, d, a, path, e, rep, vary);
    rc = meets_conditions(r);
    if (rc != OK) {
        if (rc == HTTP_NOT_MODIFIED) {
            prep_traffic_add(t, PREP_TRAFFIC_NOT_MODIFIED, 1);
        }
        return rc;
    }
    if (r->header_only) {
        return OK;
    }
    prep_traffic_add(t, PREP_TRAFFIC_BYTES, rep->length);
    return send_rep(r, f, a, rep);
}
