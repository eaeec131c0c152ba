/* mod_prep.c — the module's hooks: the feed registry's life per
 * configuration, the shared memory (mod_prep_corte.c) and the corte each
 * feed serves from the start, the runtime file that tells prepctl where the
 * feeds are, the intake process, the mapping of a feed's URLs, and the two
 * handlers. */
#include "httpd.h"
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "apr_strings.h"
#include "http_log.h"
#include "http_request.h"
#include "http_core.h"
#include "http_main.h"
#include "mpm_common.h"
#include "unixd.h"
#include "mod_status.h"

#include "mod_prep.h"

/* The process pool's count of real post_config passes (userdata outlives
 * every configuration generation, as modules do to tell the first start
 * from a restart). */
#define GENERATION_KEY "mod_prep.c generation"

static int next_generation(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    void *data = NULL;
    int *generation;

    apr_pool_userdata_get(&data, GENERATION_KEY, pp);
    generation = data;
    if (!generation) {
        generation = apr_pcalloc(pp, sizeof(*generation));
        apr_pool_userdata_set(generation, GENERATION_KEY, apr_pool_cleanup_null,
                              pp);
    }
    return ++*generation;
}

/* --- the runtime file ---------------------------------------------- */

static json_t *iso_or_null(apr_pool_t *p, apr_time_t t, const prep_zone_t *z)
{
    return t ? json_string(prep_time_iso(p, t, z)) : json_null();
}

/* What prepctl needs to act on a feed by its name (prepctl_feeds.c reads
 * it): where its store and incoming are, how it shows times, and the
 * account that may write its store. */
static json_t *runtime_feed(const prep_feed_t *f, apr_pool_t *p)
{
    const char *user = prep_registry->loader_user ? prep_registry->loader_user
                                                  : ap_unixd_config.user_name;
    json_t *o = json_object(), *zone = json_object(), *locations = json_array();
    int i;

    for (i = 0; f->locations && i < f->locations->nelts; i++) {
        const char *base = APR_ARRAY_IDX(f->locations, i, const char *);

        /* <Location /> is "" inside; the memoria wants the path */
        json_array_append_new(locations, json_string(*base ? base : "/"));
    }

    json_object_set_new(zone, "offset",
                        json_string(prep_zone_offset_text(p, &f->zone)));
    json_object_set_new(zone, "name", json_string(f->zone.name));
    json_object_set_new(o, "name", json_string(f->name));
    json_object_set_new(o, "incoming", json_string(f->incoming));
    json_object_set_new(o, "store", json_string(f->store));
    json_object_set_new(o, "zone", zone);
    json_object_set_new(o, "update_interval_s",
                        json_integer(apr_time_sec(f->interval)));
    json_object_set_new(o, "publish_from",
                        iso_or_null(p, f->publish_from, &f->zone));
    json_object_set_new(o, "publish_until",
                        iso_or_null(p, f->publish_until, &f->zone));
    json_object_set_new(o, "drill", json_boolean(f->drill));
    json_object_set_new(o, "keep", json_integer(f->keep));
    json_object_set_new(o, "user", user ? json_string(user) : json_null());
    json_object_set_new(o, "locations", locations);
    return o;
}

/* Writes PREP_RUNTIME_FILE in Apache's runtime directory, replacing it
 * atomically, readable by all (prepctl runs as any operator).  It stays
 * after a stop: prepctl acts on the stores while Apache is stopped too.
 * A failure costs prepctl its feed names (it then needs --store), never
 * the start. */
static void write_runtime_file(apr_pool_t *pconf, apr_pool_t *ptemp,
                               server_rec *s)
{
    static const prep_zone_t utc = {0, "UTC"};
    const char *path = ap_runtime_dir_relative(pconf, PREP_RUNTIME_FILE);
    json_t *doc = json_object(), *feeds = json_array();
    apr_status_t rv = APR_EINVAL;
    char *text;
    int i;

    json_object_set_new(doc, "version", json_string(PREP_VERSION));
    json_object_set_new(
        doc, "written_at",
        json_string(prep_time_iso(ptemp, apr_time_now(), &utc)));
    json_object_set_new(doc, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(doc, "server_root", json_string(ap_server_root));
    for (i = 0; i < prep_registry->feeds->nelts; i++) {
        json_array_append_new(
            feeds,
            runtime_feed(
                &APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *)->conf,
                ptemp));
    }
    json_object_set_new(doc, "feeds", feeds);
    text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (path && text) {
        char *line = apr_pstrcat(ptemp, text, "\n", NULL);

        rv = prep_store_write_atomic(path, line, strlen(line), ptemp);
        if (rv == APR_SUCCESS) {
            /* whatever the umask: every operator's prepctl reads it */
            rv =
                apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_UWRITE |
                                             APR_FPROT_GREAD | APR_FPROT_WREAD);
        }
    }
    free(text);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "PREP0135: cannot write %s: prepctl will need --store "
                     "DIR to find the feeds",
                     path ? path : PREP_RUNTIME_FILE);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "PREP0136: the feeds are described for prepctl in %s", path);
}

/* The operator's control a feed is served under from the start (a pin, a
 * drill, a close survive restarts), published with its corte. */
static void publish_start(prep_feed_rt_t *f, const char *id, apr_pool_t *ptemp,
                          server_rec *s)
{
    prep_control_t control;
    prep_served_control_t sc;
    prep_corte_t *newest = NULL;
    apr_status_t rv = prep_control_read(&control, f->conf.store, ptemp);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "PREP0137: feed %s: cannot read %s/" PREP_CONTROL_FILE
                     "; the operator's pin, drill and close are not applied",
                     f->conf.name, f->conf.store);
    }
    if (control.pin) {
        newest = prep_store_newest(f->conf.store, ptemp);
    }
    prep_served_control_make(&sc, &f->conf, &control,
                             newest ? newest->id : NULL);
    prep_shm_publish_control(f->shm, id, &sc);
}

static int prep_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp)
{
    prep_registry = apr_pcalloc(pconf, sizeof(*prep_registry));
    prep_registry->feeds = apr_array_make(pconf, 4, sizeof(prep_feed_rt_t *));
    prep_registry->templates = apr_array_make(pconf, 2, sizeof(char *));
    prep_registry->serves = apr_array_make(pconf, 4, sizeof(prep_serve_t));
    return OK;
}

static int prep_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    return prep_check_feeds(ptemp, s);
}

static int prep_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    int i, n = prep_registry->feeds->nelts;
    apr_status_t rv;

    /* The first of the two startup passes only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    prep_registry->generation = next_generation(s);
    /* also without feeds: prepctl then finds none rather than those of an
     * older configuration */
    write_runtime_file(pconf, ptemp, s);
    if (n == 0) {
        return OK;
    }
    rv = prep_shm_create(pconf, s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "PREP0102: cannot create shared memory for %d feeds", n);
        return !OK;
    }
    for (i = 0; i < n; i++) {
        prep_feed_rt_t *f =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);
        const char *id = NULL;
        prep_corte_t *c;
        int fallback;

        /* Serve the last published corte at once, before any new package:
         * after a graceful restart, a stop and start, or a reboot; the
         * newest readable one when current's cannot be read. */
        if (prep_store_serving(&id, &c, &fallback, f->conf.store, ptemp) !=
            APR_SUCCESS) {
            id = NULL;
        }
        publish_start(f, id, ptemp, s);
        if (id) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                         "PREP0103: feed %s: serving corte %s", f->conf.name,
                         id);
        } else {
            ap_log_error(
                APLOG_MARK, APLOG_NOTICE, 0, s,
                "PREP0104: feed %s: no corte yet; waiting for a package in %s",
                f->conf.name, f->conf.incoming);
        }
    }
    rv = prep_intake_start(pconf, s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "PREP0105: cannot start the intake process");
        return !OK;
    }
    return OK;
}

/* A request below a `PrepServe` Location is answered from the shared
 * index: it must not be mapped to the DocumentRoot, nor cost a directory
 * walk, a stat or an .htaccess lookup per path component. */
static int prep_translate_name(request_rec *r)
{
    const prep_dir_conf_t *d =
        ap_get_module_config(r->per_dir_config, &prep_module);

    if (!d || !d->serve) {
        return DECLINED;
    }
    r->filename = apr_pstrcat(r->pool, "prep:", d->serve, r->uri, NULL);
    return OK;
}

/* httpd resets per_dir_config before this hook: the "prep:" that
 * prep_translate_name put in r->filename says the request is ours. */
static int prep_map_to_storage(request_rec *r)
{
    /* TRACE stays with the core, which answers it while TraceEnable is on */
    if (!r->filename || strncmp(r->filename, "prep:", 5) ||
        r->method_number == M_TRACE) {
        return DECLINED;
    }
    return OK;
}

static void prep_register_hooks(apr_pool_t *p)
{
    /* A feed's URL is mapped where mod_alias maps an Alias: after the
     * server's Redirect, Alias and RewriteRule (mod_rewrite runs first,
     * mod_alias in the middle), so that an HTTP -> HTTPS redirect fires
     * for feed URLs too; before mod_userdir, mod_vhost_alias (which follow
     * mod_alias) and the core's DocumentRoot (last), so that a feed's
     * request is never walked on the file system. */
    static const char *const translate_after[] = {"mod_alias.c",
                                                  "mod_rewrite.c", NULL};
    static const char *const translate_before[] = {"mod_userdir.c",
                                                   "mod_vhost_alias.c", NULL};

    ap_hook_translate_name(prep_translate_name, translate_after,
                           translate_before, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(prep_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_pre_config(prep_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(prep_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(prep_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(prep_corte_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(prep_intake_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(prep_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(prep_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* mod_status's server-status shows the feeds, as mod_ssl's lines */
    APR_OPTIONAL_HOOK(ap, status_hook, prep_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(prep) = {
    STANDARD20_MODULE_STUFF,
    prep_create_dir_conf, /* per-directory config */
    prep_merge_dir_conf,  /* merge per-directory */
    NULL,                 /* per-server config */
    NULL,                 /* merge per-server */
    prep_cmds,            /* directives */
    prep_register_hooks   /* hooks */
};
