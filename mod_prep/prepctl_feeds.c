/* prepctl_feeds.c — how prepctl finds a live feed by its name: the runtime
 * file the module writes at each start (mod_prep-feeds.json in Apache's
 * runtime directory) or --store DIR; who runs prepctl, for the journal; and
 * the switch to the loader account when it is run as root, so that nothing
 * it writes in a store is owned by root. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prepctl.h"

int prepctl_refuse(const char *fmt, ...)
{
    va_list ap;

    fputs("prepctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return PREPCTL_REFUSED;
}

/* ------------------------------------------------------------------ */
/* The runtime file */

/* Where the runtime file is looked for after $APACHE_RUN_DIR: Debian's
 * runtime directory (both spellings), Red Hat's, and a source build's
 * DefaultRuntimeDir. */
static const char *const runtime_dirs[] = {"/var/run/apache2", "/run/apache2",
                                           "/run/httpd",
                                           "/usr/local/apache2/logs"};

/* The places to look, in order.  A file named by --feeds or
 * $PREP_FEEDS_FILE is the only place: the operator said where it is. */
static apr_array_header_t *runtime_places(const prepctl_where_t *w,
                                          apr_pool_t *p)
{
    apr_array_header_t *places = apr_array_make(p, 6, sizeof(const char *));
    const char *env = getenv("PREP_FEEDS_FILE");
    const char *run_dir = getenv("APACHE_RUN_DIR");
    size_t i;

    if (w->feeds_file || (env && *env)) {
        APR_ARRAY_PUSH(places, const char *) =
            w->feeds_file ? w->feeds_file : env;
        return places;
    }
    if (run_dir && *run_dir) {
        APR_ARRAY_PUSH(places, const char *) =
            apr_pstrcat(p, run_dir, "/" PREPCTL_FEEDS_FILE, NULL);
    }
    for (i = 0; i < sizeof(runtime_dirs) / sizeof(runtime_dirs[0]); i++) {
        APR_ARRAY_PUSH(places, const char *) =
            apr_pstrcat(p, runtime_dirs[i], "/" PREPCTL_FEEDS_FILE, NULL);
    }
    return places;
}

static const char *string_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A time of the runtime file (ISO-8601 or null) into *t; error or NULL. */
static const char *time_of(apr_time_t *t, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    *t = 0;
    if (!v || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_string(v)) {
        return _("not a time");
    }
    return prep_parse_iso_time(t, json_string_value(v));
}

/* One feed of the runtime file as the module configured it: the defaults
 * and what the file says; the sentence of what is wrong, or NULL. */
static const char *feed_of_json(prep_feed_t *f, const json_t *o, apr_pool_t *p)
{
    const json_t *zone = json_object_get(o, "zone"), *v;
    const char *err;

    prep_feed_defaults(f, p);
    f->name = string_of(o, "name");
    f->incoming = string_of(o, "incoming");
    f->store = string_of(o, "store");
    if (!f->name || !prep_feed_name_valid(f->name) || !f->store) {
        return _("a feed without a valid name or store");
    }
    f->name = apr_pstrdup(p, f->name);
    f->store = apr_pstrdup(p, f->store);
    f->incoming = f->incoming ? apr_pstrdup(p, f->incoming) : NULL;
    if (json_is_object(zone) && string_of(zone, "offset")) {
        const char *name = string_of(zone, "name");

        err = prep_zone_parse(&f->zone, string_of(zone, "offset"),
                              name ? apr_pstrdup(p, name) : f->zone.name, p);
        if (err) {
            return apr_psprintf(p, _("feed %s: zone: %s"), f->name, err);
        }
    }
    if (json_is_integer(v = json_object_get(o, "update_interval_s")) &&
        json_integer_value(v) > 0) {
        f->interval = apr_time_from_sec(json_integer_value(v));
    }
    if (json_is_integer(v = json_object_get(o, "keep"))) {
        f->keep = (int)json_integer_value(v);
    }
    f->drill = json_is_true(json_object_get(o, "drill"));
    if (json_is_array(v = json_object_get(o, "locations"))) {
        const json_t *l;
        size_t i;

        f->locations = apr_array_make(p, 2, sizeof(const char *));
        json_array_foreach(v, i, l)
        {
            if (json_is_string(l)) {
                APR_ARRAY_PUSH(f->locations, const char *) =
                    apr_pstrdup(p, json_string_value(l));
            }
        }
    }
    if ((err = time_of(&f->publish_from, o, "publish_from")) ||
        (err = time_of(&f->publish_until, o, "publish_until"))) {
        return apr_psprintf(p, _("feed %s: %s"), f->name, err);
    }
    return NULL;
}

/* The feeds of a runtime file (prep_feed_t *) into *feeds; the sentence of
 * what is wrong, or NULL. */
static const char *runtime_parse(apr_array_header_t **feeds, const char *file,
                                 apr_pool_t *p)
{
    json_error_t jerr;
    json_t *doc = json_load_file(file, 0, &jerr), *list, *item;
    const char *err = NULL;
    size_t i;

    if (!doc) {
        return apr_psprintf(p, _("%s cannot be read: %s"), file, jerr.text);
    }
    list = json_object_get(doc, "feeds");
    if (!json_is_array(list)) {
        json_decref(doc);
        return apr_psprintf(
            p, _("%s is not mod_prep's runtime file (no feeds)"), file);
    }
    *feeds = apr_array_make(p, (int)json_array_size(list) + 1,
                            sizeof(prep_feed_t *));
    json_array_foreach(list, i, item)
    {
        prep_feed_t *f = apr_pcalloc(p, sizeof(*f));

        if ((err = feed_of_json(f, item, p))) {
            err = apr_psprintf(p, "%s: %s", file, err);
            break;
        }
        APR_ARRAY_PUSH(*feeds, prep_feed_t *) = f;
    }
    json_decref(doc);
    return err;
}

/* The words of a list (const char *), joined by ", ". */
static const char *joined(const apr_array_header_t *words, apr_pool_t *p)
{
    const char *all = NULL;
    int i;

    for (i = 0; i < words->nelts; i++) {
        const char *w = APR_ARRAY_IDX(words, i, const char *);

        all = all ? apr_pstrcat(p, all, ", ", w, NULL) : w;
    }
    return all ? all : _("none");
}

/* The runtime file found and read: its path in *file and its feeds.
 * PREPCTL_GO_ON, or 1 after saying where it was looked for (quiet: the
 * caller does without it). */
static int runtime_read(apr_array_header_t **feeds, const char **file,
                        const prepctl_where_t *w, int quiet, apr_pool_t *p)
{
    apr_array_header_t *places = runtime_places(w, p);
    const char *err;
    int i;

    for (i = 0; i < places->nelts; i++) {
        const char *f = APR_ARRAY_IDX(places, i, const char *);
        struct stat st;

        if (stat(f, &st) == 0) {
            *file = f;
            if ((err = runtime_parse(feeds, f, p))) {
                return quiet ? PREPCTL_REFUSED : prepctl_refuse("%s", err);
            }
            return PREPCTL_GO_ON;
        }
    }
    if (quiet) {
        return PREPCTL_REFUSED;
    }
    return prepctl_refuse(
        _("no %s found (looked for %s); is Apache running with mod_prep?  "
          "Name the runtime file with --feeds FILE, or the feed's store with "
          "--store DIR"),
        PREPCTL_FEEDS_FILE, joined(places, p));
}

static prep_feed_t *feed_named(apr_array_header_t *feeds, const char *name)
{
    int i;

    for (i = 0; feeds && i < feeds->nelts; i++) {
        prep_feed_t *f = APR_ARRAY_IDX(feeds, i, prep_feed_t *);

        if (!strcmp(f->name, name)) {
            return f;
        }
    }
    return NULL;
}

static const char *feed_names(apr_array_header_t *feeds, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    int i;

    for (i = 0; i < feeds->nelts; i++) {
        APR_ARRAY_PUSH(names, const char *) =
            APR_ARRAY_IDX(feeds, i, prep_feed_t *)->name;
    }
    return joined(names, p);
}

/* A feed known only by --store DIR: the defaults (zone -06:00), named
 * `name`, or after the store's own directory when no FEED was given. */
static prep_feed_t *feed_of_store(const char *store, const char *name,
                                  apr_pool_t *p)
{
    prep_feed_t *f = apr_pcalloc(p, sizeof(*f));

    prep_feed_defaults(f, p);
    f->store = store;
    if (!name) {
        const char *slash = strrchr(store, '/');

        name = slash && slash[1] ? slash + 1 : store;
    }
    f->name = name;
    return f;
}

int prepctl_feeds_find(apr_array_header_t **feeds, const prepctl_where_t *w,
                       const char *name, apr_pool_t *p)
{
    apr_array_header_t *known = NULL;
    const char *file = NULL;
    prep_feed_t *f;
    int rc;

    *feeds = apr_array_make(p, 4, sizeof(prep_feed_t *));
    if (w->store) {
        /* the runtime file only completes what --store says, if it knows
         * the feed (or, without FEED, the store) */
        int i;

        runtime_read(&known, &file, w, 1, p);
        f = name ? feed_named(known, name) : NULL;
        for (i = 0; !name && known && i < known->nelts; i++) {
            prep_feed_t *k = APR_ARRAY_IDX(known, i, prep_feed_t *);

            if (!strcmp(k->store, w->store)) {
                f = k;
            }
        }
        if (f) {
            prep_feed_t *copy = apr_pmemdup(p, f, sizeof(*f));

            copy->store = w->store;
            f = copy;
        } else {
            f = feed_of_store(w->store, name, p);
        }
        APR_ARRAY_PUSH(*feeds, prep_feed_t *) = f;
        return PREPCTL_GO_ON;
    }
    if ((rc = runtime_read(&known, &file, w, 0, p)) != PREPCTL_GO_ON) {
        return rc;
    }
    if (!name) {
        if (!known->nelts) {
            return prepctl_refuse(_("%s names no feed"), file);
        }
        *feeds = known;
        return PREPCTL_GO_ON;
    }
    if (!(f = feed_named(known, name))) {
        return prepctl_refuse(_("no feed %s in %s (feeds: %s)"), name, file,
                              feed_names(known, p));
    }
    APR_ARRAY_PUSH(*feeds, prep_feed_t *) = f;
    return PREPCTL_GO_ON;
}

/* ------------------------------------------------------------------ */
/* Who runs prepctl, and as which account it acts */

const char *prepctl_user(apr_pool_t *p)
{
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    const char *name = pw ? apr_pstrdup(p, pw->pw_name)
                          : apr_psprintf(p, "uid %lu", (unsigned long)uid);
    const char *sudo = getenv("SUDO_USER");

    if (uid == 0 && sudo && *sudo) {
        return apr_psprintf(p, "%s (sudo %s)", name, sudo);
    }
    return name;
}

int prepctl_become_store_owner(const char *store, apr_pool_t *p)
{
    struct stat st;
    struct passwd *pw;
    gid_t gid;

    (void)p;
    if (geteuid() != 0) {
        return PREPCTL_GO_ON;
    }
    if (stat(store, &st) != 0) {
        return prepctl_refuse(_("the store %s cannot be read: %s"), store,
                              strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return prepctl_refuse(_("the store %s is not a directory"), store);
    }
    if (st.st_uid == 0) {
        return prepctl_refuse(_("the store %s is owned by root; it must be "
                                "owned by the loader account"),
                              store);
    }
    /* the account's own groups when it has a passwd entry, else only the
     * store's group: never root's supplementary groups */
    pw = getpwuid(st.st_uid);
    gid = pw ? pw->pw_gid : st.st_gid;
    if ((pw ? initgroups(pw->pw_name, gid) : setgroups(1, &gid)) != 0 ||
        setgid(gid) != 0 || setuid(st.st_uid) != 0) {
        return prepctl_refuse(_("cannot become the owner of the store %s "
                                "(uid %lu): %s"),
                              store, (unsigned long)st.st_uid, strerror(errno));
    }
    if (setuid(0) == 0) {
        return prepctl_refuse(_("could not give up root to act on %s"), store);
    }
    return PREPCTL_GO_ON;
}
