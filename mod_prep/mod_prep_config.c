/* mod_prep_config.c — the directives of mod_prep: <PrepFeed> containers in
 * the server configuration, PrepServe and friends per <Location>, and the
 * checks that make a wrong configuration fail `apachectl configtest`. */
#include "httpd.h"
#include <sys/stat.h>
#include <pwd.h>
#include <unistd.h>

#include "apr_strings.h"
#include "http_log.h"
#include "unixd.h"

#include "mod_prep.h"

APLOG_USE_MODULE(prep);

prep_registry_t *prep_registry;

/* The feed whose <PrepFeed> section is being read. */
static prep_feed_rt_t *feed_in_section;

prep_feed_rt_t *prep_feed_find(const char *name)
{
    int i;

    if (!prep_registry || !name) {
        return NULL;
    }
    for (i = 0; i < prep_registry->feeds->nelts; i++) {
        prep_feed_rt_t *f =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);
        if (!strcmp(f->conf.name, name)) {
            return f;
        }
    }
    return NULL;
}

static const char *where(cmd_parms *cmd)
{
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                        cmd->directive->line_num);
}

/* --- <PrepFeed> ---------------------------------------------------- */

static const char *cmd_feed_section(cmd_parms *cmd, void *mconfig,
                                    const char *arg)
{
    const char *err, *endp = ap_strrchr_c(arg, '>');
    char *name;
    prep_feed_rt_t *f;

    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    if (!endp) {
        return "<PrepFeed> is missing its closing '>'";
    }
    name = apr_pstrndup(cmd->pool, arg, endp - arg);
    name = ap_getword_conf(cmd->pool, (const char **)&name);
    if (!prep_feed_name_valid(name)) {
        return apr_psprintf(cmd->pool,
                            "<PrepFeed %s>: a feed name is made of letters, "
                            "digits, '_' and '-'",
                            name);
    }
    if (prep_feed_find(name)) {
        return apr_psprintf(cmd->pool, "<PrepFeed %s> is defined twice", name);
    }
    f = apr_pcalloc(cmd->pool, sizeof(*f));
    prep_feed_defaults(&f->conf, cmd->pool);
    f->conf.name = name;
    f->defined_at = where(cmd);
    f->slot = prep_registry->feeds->nelts;

    feed_in_section = f;
    err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
    feed_in_section = NULL;
    if (err) {
        return err;
    }
    if (!f->conf.incoming) {
        return apr_psprintf(cmd->pool,
                            "<PrepFeed %s>: PrepIncoming is required "
                            "(the directory where packages arrive)",
                            name);
    }
    if (!f->conf.store) {
        return apr_psprintf(cmd->pool,
                            "<PrepFeed %s>: PrepStore is required "
                            "(the directory where cortes are kept)",
                            name);
    }
    if (f->conf.publish_until && f->conf.publish_from &&
        f->conf.publish_until <= f->conf.publish_from) {
        return apr_psprintf(cmd->pool,
                            "<PrepFeed %s>: PrepPublishUntil must be later "
                            "than PrepPublishFrom (the operation would end "
                            "before it starts)",
                            name);
    }
    f->edge_cache_control =
        f->conf.edge_ttl > 0
            ? apr_psprintf(cmd->pool,
                           "public, max-age=0, must-revalidate, "
                           "s-maxage=%" APR_TIME_T_FMT,
                           apr_time_sec(f->conf.edge_ttl))
            : "public, no-cache";
    f->edge_main = f->conf.edge_ttl_main > 0
                       ? apr_psprintf(cmd->pool, "max-age=%" APR_TIME_T_FMT,
                                      apr_time_sec(f->conf.edge_ttl_main))
                       : NULL;
    APR_ARRAY_PUSH(prep_registry->feeds, prep_feed_rt_t *) = f;
    return NULL;
}

/* The one setter of every directive inside <PrepFeed>, as httpd's
 * ap_set_*_slot are: cmd->info is the directive's prep_feed_directive_t
 * (prep_feed.c), which says which field of the feed it sets and which
 * parser reads it.  A file name is made relative to the ServerRoot here. */
static const char *feed_set(cmd_parms *cmd, int argc, const char **argv)
{
    const prep_feed_directive_t *d = cmd->info;
    int at = d->path_arg - 1;

    if (!feed_in_section) {
        return apr_psprintf(cmd->pool, "%s is only allowed inside <PrepFeed>",
                            cmd->cmd->name);
    }
    if (at >= 0 && at < argc) {
        const char *given = argv[at];

        if (!(argv[at] = ap_server_root_relative(cmd->pool, given))) {
            return apr_psprintf(cmd->pool, "%s: invalid path \"%s\"",
                                cmd->cmd->name, given);
        }
    }
    if (argc == 0 && d->args == PREP_ARGS_SOME) {
        /* what httpd says of an ITERATE directive without arguments */
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " requires at least one argument, ",
                           cmd->cmd->errmsg, NULL);
    }
    if (d == &prep_feed_directives[PREP_FEED_INCOMING]) {
        feed_in_section->incoming_at = where(cmd);
    } else if (d == &prep_feed_directives[PREP_FEED_STORE]) {
        feed_in_section->store_at = where(cmd);
    }
    return prep_feed_set(&feed_in_section->conf, d, argc, argv, cmd->pool);
}

static const char *feed_take1(cmd_parms *cmd, void *mconfig, const char *arg)
{
    return feed_set(cmd, 1, &arg);
}

static const char *feed_take12(cmd_parms *cmd, void *mconfig, const char *arg1,
                               const char *arg2)
{
    const char *argv[2] = {arg1, arg2};

    return feed_set(cmd, arg2 ? 2 : 1, argv);
}

/* The words of the line, split as httpd splits any directive's (up to the
 * first empty word, as for ITERATE): all the words of one line reach the
 * parser together, so that a PrepCompress or PrepFormats line replaces
 * the list it sets. */
static const char *feed_words(cmd_parms *cmd, void *mconfig, const char *args)
{
    apr_array_header_t *argv = apr_array_make(cmd->pool, 4, sizeof(char *));
    const char *w;

    while (*(w = ap_getword_conf(cmd->pool, &args))) {
        APR_ARRAY_PUSH(argv, const char *) = w;
    }
    return feed_set(cmd, argv->nelts, (const char **)argv->elts);
}

#define FEED_INFO(d) ((void *)&prep_feed_directives[d])
#define FEED_TAKE1(name, d, help)                                              \
    AP_INIT_TAKE1(name, feed_take1, FEED_INFO(d), RSRC_CONF, help)
#define FEED_TAKE12(name, d, help)                                             \
    AP_INIT_TAKE12(name, feed_take12, FEED_INFO(d), RSRC_CONF, help)
#define FEED_WORDS(name, d, help)                                              \
    AP_INIT_RAW_ARGS(name, feed_words, FEED_INFO(d), RSRC_CONF, help)

/* PrepUser: the loader account, resolved now so that the intake can switch
 * to it after the parent has dropped nothing yet. */
static const char *cmd_user(cmd_parms *cmd, void *mconfig, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    struct passwd *pw;

    if (err) {
        return err;
    }
    if (!(pw = getpwnam(arg))) {
        return apr_psprintf(cmd->pool,
                            "PrepUser: no account \"%s\" on this system "
                            "(create it: useradd --system --user-group "
                            "--no-create-home %s)",
                            arg, arg);
    }
    if (pw->pw_uid == 0) {
        return "PrepUser: the loader account must not be root";
    }
    prep_registry->loader_user = apr_pstrdup(cmd->pool, arg);
    prep_registry->loader_uid = pw->pw_uid;
    prep_registry->loader_gid = pw->pw_gid;
    return NULL;
}

/* --- per directory ------------------------------------------------- */

void *prep_create_dir_conf(apr_pool_t *p, char *dir)
{
    prep_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));
    apr_size_t len;

    if (dir) {
        len = strlen(dir);
        while (len > 0 && dir[len - 1] == '/') {
            len--;
        }
        d->base = apr_pstrndup(p, dir, len);
    }
    d->banner.mode = PREP_BANNER_UNSET;
    d->ignore_embargo = -1;
    d->cache_rules = apr_array_make(p, 2, sizeof(prep_cache_rule_t));
    return d;
}

void *prep_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    prep_dir_conf_t *base = basev, *add = addv;
    prep_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->base = add->base ? add->base : base->base;
    d->serve = add->serve ? add->serve : base->serve;
    d->feed = add->serve ? add->feed : base->feed;
    d->banner =
        add->banner.mode != PREP_BANNER_UNSET ? add->banner : base->banner;
    d->csp = add->csp ? add->csp : base->csp;
    d->ignore_embargo =
        add->ignore_embargo != -1 ? add->ignore_embargo : base->ignore_embargo;
    /* The more specific section's rules are tried first. */
    d->cache_rules = apr_array_append(p, add->cache_rules, base->cache_rules);
    return d;
}

static const char *cmd_serve(cmd_parms *cmd, void *mconfig, const char *arg)
{
    prep_dir_conf_t *d = mconfig;
    const ap_directive_t *section = cmd->directive->parent;
    prep_serve_t *serve;

    if (!prep_feed_name_valid(arg)) {
        return apr_psprintf(cmd->pool, "PrepServe: \"%s\" is not a feed name",
                            arg);
    }
    /* The URL below the Location is the path in the corte: that needs a
     * literal <Location /path>, not a regex nor a <Directory>. */
    if (!section || strcasecmp(section->directive, "<Location") ||
        !section->args || section->args[0] == '~') {
        return "PrepServe: use it inside <Location /path> (not "
               "<LocationMatch>, <Location ~ …>, <Directory> or <Files>)";
    }
    d->serve = arg;
    /* The feed may be defined further down: d->feed is set once all is
     * read (prep_check_feeds). */
    serve = apr_array_push(prep_registry->serves);
    serve->name = arg;
    serve->where = where(cmd);
    serve->dir = d;
    return NULL;
}

static const char *cmd_banner(cmd_parms *cmd, void *mconfig, int on)
{
    prep_dir_conf_t *d = mconfig;

    d->banner.mode = on ? PREP_BANNER_DEFAULT : PREP_BANNER_OFF;
    return NULL;
}

static const char *cmd_banner_template(cmd_parms *cmd, void *mconfig,
                                       const char *arg)
{
    prep_dir_conf_t *d = mconfig;
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_file_t *fp;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t len;
    char *text;
    int i;

    if (!path || (rv = apr_file_open(&fp, path, APR_FOPEN_READ, 0,
                                     cmd->pool)) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "PrepBannerTemplate: cannot read %s",
                            arg);
    }
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fp)) != APR_SUCCESS) {
        apr_file_close(fp); /* the error is the one above */
        return apr_psprintf(cmd->pool, "PrepBannerTemplate: cannot read %s",
                            arg);
    }
    if (fi.size > 65536) {
        apr_file_close(fp); /* read-only, and refused anyway */
        return apr_psprintf(cmd->pool,
                            "PrepBannerTemplate: %s is larger than 64 KB", arg);
    }
    len = (apr_size_t)fi.size;
    text = apr_palloc(cmd->pool, len + 1);
    rv = apr_file_read_full(fp, text, len, &len);
    if (apr_file_close(fp) != APR_SUCCESS ||
        (rv != APR_SUCCESS && len != (apr_size_t)fi.size)) {
        return apr_psprintf(cmd->pool, "PrepBannerTemplate: cannot read %s",
                            arg);
    }
    text[len] = '\0';
    for (i = 0; i < prep_registry->templates->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(prep_registry->templates, i, const char *),
                    text)) {
            break;
        }
    }
    if (i == prep_registry->templates->nelts) {
        APR_ARRAY_PUSH(prep_registry->templates, const char *) = text;
    }
    d->banner.mode = PREP_BANNER_TEMPLATE;
    d->banner.template_index = i;
    return NULL;
}

static const char *cmd_cache_control(cmd_parms *cmd, void *mconfig,
                                     const char *glob, const char *value)
{
    prep_dir_conf_t *d = mconfig;
    prep_cache_rule_t *rule = apr_array_push(d->cache_rules);

    rule->glob = glob[0] == '/' ? glob + 1 : glob;
    rule->value = value;
    return NULL;
}

static const char *cmd_frame_ancestors(cmd_parms *cmd, void *mconfig,
                                       const char *args)
{
    prep_dir_conf_t *d = mconfig;

    if (strchr(args, ';') || strchr(args, ',') || strchr(args, '\n')) {
        return "PrepFrameAncestors: sources are separated by spaces only";
    }
    d->csp = apr_pstrcat(cmd->pool, "frame-ancestors ", args, NULL);
    return NULL;
}

static const char *cmd_ignore_embargo(cmd_parms *cmd, void *mconfig, int on)
{
    prep_dir_conf_t *d = mconfig;

    d->ignore_embargo = on;
    return NULL;
}

const command_rec prep_cmds[] = {
    AP_INIT_RAW_ARGS("<PrepFeed", cmd_feed_section, NULL, RSRC_CONF,
                     "a feed: where its packages arrive and its cortes live"),
    FEED_TAKE1("PrepIncoming", PREP_FEED_INCOMING,
               "directory where packages arrive"),
    FEED_TAKE1("PrepStore", PREP_FEED_STORE,
               "directory where cortes are kept (owned by the User)"),
    FEED_TAKE1("PrepSettleTime", PREP_FEED_SETTLE_TIME,
               "how long a package must be unchanged before it is read"),
    FEED_TAKE1("PrepUpdateInterval", PREP_FEED_UPDATE_INTERVAL,
               "expected time between cortes; stale after three"),
    FEED_WORDS("PrepCorteTime", PREP_FEED_CORTE_TIME,
               "json FILE POINTER | csv FILE LINE | filename REGEX | mtime"),
    FEED_TAKE12("PrepTimeZone", PREP_FEED_TIME_ZONE,
                "offset and name of the zone times are shown in"),
    FEED_TAKE1("PrepPublishFrom", PREP_FEED_PUBLISH_FROM,
               "ISO-8601 time before which nothing is served"),
    FEED_TAKE12("PrepVerify", PREP_FEED_VERIFY,
                "none | sha256 | signature PUBKEY.pem"),
    FEED_WORDS("PrepLimits", PREP_FEED_LIMITS,
               "files=N bytes=SIZE file=SIZE ratio=N depth=N"),
    FEED_TAKE1("PrepKeep", PREP_FEED_KEEP, "how many cortes are kept"),
    FEED_TAKE1("PrepStripComponents", PREP_FEED_STRIP,
               "auto | number of leading path components to remove"),
    FEED_WORDS("PrepCompress", PREP_FEED_COMPRESS,
               "precompressed variants: gzip br | none"),
    FEED_TAKE1("PrepFutureLimit", PREP_FEED_FUTURE_LIMIT,
               "how far ahead of the clock a corte time may be [15m]"),
    FEED_TAKE1("PrepLoadTimeout", PREP_FEED_LOAD_TIMEOUT,
               "longest a load may take before it is stopped [10m]"),
    FEED_TAKE1("PrepAuditInterval", PREP_FEED_AUDIT_INTERVAL,
               "pause between two audits of the served corte | off [1m]"),
    FEED_TAKE1("PrepSameTime", PREP_FEED_SAME_TIME,
               "refuse | accept: a corte with the served corte's time "
               "and other bytes [refuse]"),
    AP_INIT_TAKE1("PrepUser", cmd_user, NULL, RSRC_CONF,
                  "the loader account: it alone writes the stores"),
    FEED_WORDS("PrepFormats", PREP_FEED_FORMATS,
               "archive formats and compressions read: tar zip 7z cpio "
               "iso9660 cab lha rar ar gzip bzip2 xz zstd lzma lzip lz4 "
               "compress"),
    FEED_TAKE1("PrepPublishUntil", PREP_FEED_PUBLISH_UNTIL,
               "ISO-8601 time the operation ends: the feed is closed after "
               "it, the last corte served [none]"),
    FEED_TAKE1("PrepDrill", PREP_FEED_DRILL,
               "on | off: the feed runs a drill (simulacro) [off]"),
    FEED_WORDS("PrepNotify", PREP_FEED_NOTIFY,
               "/path/to/command [ARGS]: run after each journal event, as "
               "the User, with the event appended [none]"),
    FEED_TAKE12("PrepEdgeTTL", PREP_FEED_EDGE_TTL,
                "DURATION [main=DURATION]: how long a CDN may hold the "
                "corte's files (and json/main.json) [off]"),
    FEED_TAKE1("PrepCacheTag", PREP_FEED_CACHE_TAG,
               "Surrogate-Key | xkey | Cache-Tag | off: the header naming "
               "the feed and corte for purges [Surrogate-Key]"),
    FEED_TAKE12("PrepBannerPosition", PREP_FEED_BANNER_POSITION,
                "static | sticky | fixed-top | fixed-bottom [OFFSET]: where "
                "the default banner stays on the screen [static]"),
    FEED_TAKE1("PrepSource", PREP_FEED_SOURCE,
               "package | tree: packages dropped into PrepIncoming, or "
               "a tree updated in place there [package]"),
    AP_INIT_TAKE1("PrepServe", cmd_serve, NULL, ACCESS_CONF,
                  "the feed served below this location"),
    AP_INIT_FLAG("PrepBanner", cmd_banner, NULL, ACCESS_CONF,
                 "insert the corte banner into HTML"),
    AP_INIT_TAKE1("PrepBannerTemplate", cmd_banner_template, NULL, ACCESS_CONF,
                  "file with the banner's HTML ({{fecha}} {{hora}} {{zona}} "
                  "{{iso}})"),
    AP_INIT_TAKE2("PrepCacheControl", cmd_cache_control, NULL, ACCESS_CONF,
                  "GLOB VALUE: Cache-Control for matching paths"),
    AP_INIT_RAW_ARGS("PrepFrameAncestors", cmd_frame_ancestors, NULL,
                     ACCESS_CONF, "CSP frame-ancestors sources"),
    AP_INIT_FLAG("PrepIgnoreEmbargo", cmd_ignore_embargo, NULL, ACCESS_CONF,
                 "serve before PrepPublishFrom (for a protected preview)"),
    {NULL}};

/* --- checks once everything is read -------------------------------- */

/* Whether an account (uid, gid) may create files in a directory. */
static int may_write(const struct stat *st, uid_t uid, gid_t gid)
{
    if (uid == 0) {
        return 1;
    }
    if (st->st_uid == uid) {
        return (st->st_mode & S_IWUSR) && (st->st_mode & S_IXUSR);
    }
    if (st->st_gid == gid) {
        return (st->st_mode & S_IWGRP) && (st->st_mode & S_IXGRP);
    }
    return (st->st_mode & S_IWOTH) && (st->st_mode & S_IXOTH);
}

/* Whether the loader account may create files in dir. */
static const char *check_writable(apr_pool_t *p, const char *what,
                                  const char *feed, const char *dir)
{
    struct stat st;
    int ok;
    const char *loader = prep_registry->loader_user;

    if (stat(dir, &st) != 0) {
        /* without a User, httpd's name of its default ("#-1") is none
         * that install(1) takes: Debian's User then */
        const char *user = ap_unixd_config.user_name;
        const char *owner = loader                 ? loader
                            : user && *user != '#' ? user
                                                   : "www-data";

        return apr_psprintf(
            p,
            "<PrepFeed %s>: %s %s does not exist: create it with %s "
            "(docs/operations.md, \"Three accounts\")",
            feed, what, dir,
            strcmp(what, "PrepStore")
                ? apr_psprintf(p,
                               "\"install -d -o %s -g GROUP -m 1770 %s\", "
                               "GROUP being the institute's SFTP group",
                               owner, dir)
                : apr_psprintf(p, "\"install -d -o %s -g %s -m 0755 %s\"",
                               owner, owner, dir));
    }
    if (!S_ISDIR(st.st_mode)) {
        return apr_psprintf(p, "<PrepFeed %s>: %s %s is not a directory", feed,
                            what, dir);
    }
    if (geteuid() != 0) {
        ok = access(dir, W_OK | X_OK) == 0;
    } else if (loader) {
        ok = may_write(&st, prep_registry->loader_uid,
                       prep_registry->loader_gid);
    } else {
        ok = may_write(&st, ap_unixd_config.user_id, ap_unixd_config.group_id);
    }
    if (!ok) {
        return apr_psprintf(
            p, "<PrepFeed %s>: %s %s is not writable by %s %s", feed, what, dir,
            loader ? "the loader account (PrepUser)" : "the server's User",
            loader                      ? loader
            : ap_unixd_config.user_name ? ap_unixd_config.user_name
                                        : "(current user)");
    }
    /* With a loader account, the workers' account only reads the results:
     * a process running as the User (a PHP portal on the same server) must
     * not be able to replace `current` or a corte. */
    if (geteuid() == 0 && loader && !strcmp(what, "PrepStore") &&
        ap_unixd_config.user_id != prep_registry->loader_uid &&
        may_write(&st, ap_unixd_config.user_id, ap_unixd_config.group_id)) {
        return apr_psprintf(p,
                            "<PrepFeed %s>: PrepStore %s is writable by the "
                            "server's User %s: only the loader account %s "
                            "may write it (chown %s %s; chmod 755 %s)",
                            feed, dir, ap_unixd_config.user_name, loader,
                            loader, dir, dir);
    }
    /* nor rename the store away and put another in its place */
    if (geteuid() == 0 && loader && !strcmp(what, "PrepStore") &&
        ap_unixd_config.user_id != prep_registry->loader_uid) {
        char *parent = apr_pstrdup(p, dir);
        char *slash = strrchr(parent, '/');
        struct stat pst;

        if (slash && slash != parent) {
            *slash = '\0';
        } else if (slash) {
            parent[1] = '\0';
        }
        if (stat(parent, &pst) == 0 && !(pst.st_mode & S_ISVTX) &&
            may_write(&pst, ap_unixd_config.user_id,
                      ap_unixd_config.group_id)) {
            return apr_psprintf(p,
                                "<PrepFeed %s>: the directory %s that holds "
                                "PrepStore is writable by the server's User "
                                "%s, which could replace the store: make it "
                                "root's or the loader account's",
                                feed, parent, ap_unixd_config.user_name);
        }
    }
    return NULL;
}

/* A Location of feed f, once however many virtual hosts repeat it ("" for
 * <Location />).  In the feed's own pool: it lives as long as the feed. */
static void add_location(prep_feed_t *f, const char *base)
{
    int i;

    if (!f->locations) {
        f->locations =
            apr_array_make(prep_registry->feeds->pool, 2, sizeof(const char *));
    }
    for (i = 0; i < f->locations->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(f->locations, i, const char *), base)) {
            return;
        }
    }
    APR_ARRAY_PUSH(f->locations, const char *) =
        apr_pstrdup(f->locations->pool, base);
}

/* A problem found by prep_check_feeds, logged at once with the place of
 * the directive it is about ("file:line: "; NULL: none): every problem is
 * told in one run of configtest, not the first alone. */
static int problem(server_rec *s, const char *at, const char *err)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PREP0101: %s%s%s",
                 at ? at : "", at ? ": " : "", err);
    return 1;
}

int prep_check_feeds(apr_pool_t *ptemp, server_rec *s)
{
    const char *err;
    int i, j, problems = 0;

    /* Each PrepServe's feed, found once here rather than per request. */
    for (i = 0; i < prep_registry->serves->nelts; i++) {
        const prep_serve_t *serve =
            &APR_ARRAY_IDX(prep_registry->serves, i, prep_serve_t);

        serve->dir->feed = prep_feed_find(serve->name);
        if (!serve->dir->feed) {
            problems += problem(
                s, serve->where,
                apr_psprintf(ptemp, "PrepServe %s: no <PrepFeed %s> is defined",
                             serve->name, serve->name));
        } else {
            add_location(&serve->dir->feed->conf, serve->dir->base);
        }
    }
    for (i = 0; i < prep_registry->feeds->nelts; i++) {
        prep_feed_rt_t *f =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);
        apr_array_header_t *b;

        if ((err = check_writable(ptemp, "PrepIncoming", f->conf.name,
                                  f->conf.incoming))) {
            problems += problem(s, f->incoming_at, err);
        }
        if ((err = check_writable(ptemp, "PrepStore", f->conf.name,
                                  f->conf.store))) {
            problems += problem(s, f->store_at, err);
        }
        for (j = 0; j < i; j++) {
            prep_feed_rt_t *o =
                APR_ARRAY_IDX(prep_registry->feeds, j, prep_feed_rt_t *);
            if (!strcmp(o->conf.store, f->conf.store) ||
                !strcmp(o->conf.incoming, f->conf.incoming)) {
                problems += problem(
                    s, f->defined_at,
                    apr_psprintf(ptemp,
                                 "<PrepFeed %s>: shares its PrepStore or "
                                 "PrepIncoming with <PrepFeed %s> (%s)",
                                 f->conf.name, o->conf.name, o->defined_at));
            }
        }
        /* Banner slot n is banners[n - 1]; slot 1 is the default banner. */
        b = apr_array_make(ptemp, 1 + prep_registry->templates->nelts,
                           sizeof(char *));
        APR_ARRAY_PUSH(b, const char *) = NULL;
        for (j = 0; j < prep_registry->templates->nelts; j++) {
            APR_ARRAY_PUSH(b, const char *) =
                APR_ARRAY_IDX(prep_registry->templates, j, const char *);
        }
        f->conf.banners = apr_array_copy(prep_registry->feeds->pool, b);
    }
    return problems ? !OK : OK;
}
