/* mod_prep.c — the module's hooks: the feed registry's life per
 * configuration, the shared memory (mod_prep_corte.c) and the corte each
 * feed serves from the start, the intake process, the mapping of a feed's
 * URLs, and the two handlers. */
#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_request.h"
#include "http_core.h"
#include "http_main.h"
#include "mpm_common.h"

#include "mod_prep.h"

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
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG ||
        n == 0) {
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
        if (prep_store_serving(&id, &c, &fallback, f->conf.store, ptemp) ==
                APR_SUCCESS &&
            id) {
            prep_shm_publish(f->shm, id);
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
