/* mod_bench_floor.c — the floor of the bench: the least work an httpd
 * handler can do to answer a request.  `SetHandler bench-floor` answers
 * every GET with one constant buffer, read once at startup from the file
 * named by BenchFloorFile in the same <Location> (bench/run writes there
 * the bytes mod_prep sends for a gzip json/main.json, or for one casilla),
 * sent as Content-Encoding: gzip.  No lookup, no negotiation, no
 * conditional request: only httpd's own request path.
 *
 *   apxs -c mod_bench_floor.c */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_buckets.h"
#include "apr_file_io.h"
#include "apr_strings.h"

module AP_MODULE_DECLARE_DATA bench_floor_module;

typedef struct {
    const char *file;
    char *buf;
    apr_size_t len;
} floor_conf_t;

static void *create_dir(apr_pool_t *p, char *dir)
{
    (void)dir;
    return apr_pcalloc(p, sizeof(floor_conf_t));
}

static const char *set_file(cmd_parms *cmd, void *conf, const char *arg)
{
    floor_conf_t *c = conf;
    apr_file_t *fp;
    apr_finfo_t fi;
    apr_status_t rv;

    c->file = arg;
    if ((rv = apr_file_open(&fp, arg, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                            cmd->pool)) != APR_SUCCESS ||
        (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fp)) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "BenchFloorFile: cannot read %s", arg);
    }
    c->len = (apr_size_t)fi.size;
    c->buf = apr_palloc(cmd->pool, c->len + 1);
    rv = apr_file_read_full(fp, c->buf, c->len, NULL);
    apr_file_close(fp);
    return rv == APR_SUCCESS
               ? NULL
               : apr_psprintf(cmd->pool, "BenchFloorFile: cannot read %s", arg);
}

static int floor_handler(request_rec *r)
{
    floor_conf_t *c;
    apr_bucket_brigade *bb;
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;

    if (!r->handler || strcmp(r->handler, "bench-floor")) {
        return DECLINED;
    }
    c = ap_get_module_config(r->per_dir_config, &bench_floor_module);
    if (!c->buf) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Content-Encoding", "gzip");
    ap_set_content_length(r, (apr_off_t)c->len);
    if (r->header_only) {
        return OK;
    }
    bb = apr_brigade_create(r->pool, ba);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(c->buf, c->len, ba));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(ba));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
               ? OK
               : AP_FILTER_ERROR;
}

static const command_rec floor_cmds[] = {
    AP_INIT_TAKE1("BenchFloorFile", set_file, NULL, ACCESS_CONF,
                  "the bytes every request is answered with"),
    {NULL}};

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(floor_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(bench_floor) = {
    STANDARD20_MODULE_STUFF, create_dir,         NULL, NULL, NULL, floor_cmds,
    register_hooks,          AP_MODULE_FLAG_NONE};
