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

/* Directives that only make sense inside <PrepFeed>. */
static const char *in_feed(cmd_parms *cmd, prep_feed_rt_t **f)
{
    *f = feed_in_section;
    if (!feed_in_section) {
        return apr_psprintf(cmd->pool, "%s is only allowed inside <PrepFeed>",
                            cmd->cmd->name);
    }
    return NULL;
}

static const char *with_name(cmd_parms *cmd, const char *err)
{
    return err ? apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err) : NULL;
}

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
    APR_ARRAY_PUSH(prep_registry->feeds, prep_feed_rt_t *) = f;
    return NULL;
}

static const char *cmd_dir(cmd_parms *cmd, void *mconfig, const char *arg)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f), *path;

    if (err) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_psprintf(cmd->pool, "%s: invalid path \"%s\"",
                            cmd->cmd->name, arg);
    }
    if (cmd->info) {
        f->conf.store = path;
    } else {
        f->conf.incoming = path;
    }
    return NULL;
}

static const char *cmd_settle(cmd_parms *cmd, void *mconfig, const char *arg)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    if (cmd->info) {
        return with_name(cmd, prep_parse_duration(&f->conf.interval, arg));
    }
    return with_name(cmd, prep_parse_duration(&f->conf.settle, arg));
}

static const char *cmd_corte_time(cmd_parms *cmd, void *mconfig,
                                  const char *args)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f), *w;
    apr_array_header_t *argv = apr_array_make(cmd->pool, 4, sizeof(char *));

    if (err) {
        return err;
    }
    while (*(w = ap_getword_conf(cmd->pool, &args))) {
        APR_ARRAY_PUSH(argv, const char *) = w;
    }
    return with_name(cmd, prep_corte_spec_parse(&f->conf.corte, argv->nelts,
                                                (const char *const *)argv->elts,
                                                cmd->pool));
}

static const char *cmd_zone(cmd_parms *cmd, void *mconfig, const char *offset,
                            const char *name)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    return with_name(cmd, prep_zone_parse(&f->conf.zone, offset,
                                          name ? name : f->conf.zone.name,
                                          cmd->pool));
}

static const char *cmd_publish_from(cmd_parms *cmd, void *mconfig,
                                    const char *arg)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "none")) {
        f->conf.publish_from = 0;
        return NULL;
    }
    return with_name(cmd, prep_parse_iso_time(&f->conf.publish_from, arg));
}

static const char *cmd_verify(cmd_parms *cmd, void *mconfig, const char *mode,
                              const char *key)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    if (!strcasecmp(mode, "none") && !key) {
        f->conf.verify = PREP_VERIFY_NONE;
    } else if (!strcasecmp(mode, "sha256") && !key) {
        f->conf.verify = PREP_VERIFY_SHA256;
    } else if (!strcasecmp(mode, "signature") && key) {
        f->conf.verify = PREP_VERIFY_SIGNATURE;
        f->conf.verify_key = ap_server_root_relative(cmd->pool, key);
        if ((err = prep_verify_key_check(f->conf.verify_key, cmd->temp_pool))) {
            return apr_pstrcat(cmd->pool, "PrepVerify signature: ", err, NULL);
        }
    } else {
        return "PrepVerify: use none, sha256, or signature PUBKEY.pem";
    }
    return NULL;
}

static const char *cmd_limits(cmd_parms *cmd, void *mconfig, const char *word)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    return with_name(cmd, prep_limits_parse(&f->conf.limits, word, cmd->pool));
}

static const char *parse_count(cmd_parms *cmd, const char *arg, int min,
                               int *out)
{
    char *end;
    long n = strtol(arg, &end, 10);

    if (!*arg || *end || n < min || n > 100000) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a number >= %d",
                            cmd->cmd->name, arg, min);
    }
    *out = (int)n;
    return NULL;
}

static const char *cmd_keep(cmd_parms *cmd, void *mconfig, const char *arg)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    return parse_count(cmd, arg, 1, &f->conf.keep);
}

static const char *cmd_strip(cmd_parms *cmd, void *mconfig, const char *arg)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "auto")) {
        f->conf.strip = -1;
        return NULL;
    }
    return parse_count(cmd, arg, 0, &f->conf.strip);
}

/* Whether arg is the first word of its directive line: the words of one
 * PrepCompress or PrepFormats line replace the default list.  `seen` is the
 * directive's own last line. */
static int first_word(cmd_parms *cmd, const ap_directive_t **seen)
{
    if (*seen == cmd->directive) {
        return 0;
    }
    *seen = cmd->directive;
    return 1;
}

static const char *cmd_compress(cmd_parms *cmd, void *mconfig, const char *arg)
{
    static const ap_directive_t *seen;
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    if (first_word(cmd, &seen)) {
        f->conf.compress = 0;
    }
    if (!strcasecmp(arg, "gzip")) {
        f->conf.compress |= 1u << PREP_ENC_GZIP;
    } else if (!strcasecmp(arg, "br")) {
        f->conf.compress |= 1u << PREP_ENC_BR;
    } else if (strcasecmp(arg, "none")) {
        return "PrepCompress: use gzip, br or none";
    }
    return NULL;
}

static const char *cmd_duration(cmd_parms *cmd, void *mconfig, const char *arg)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);
    apr_interval_time_t *out =
        (apr_interval_time_t *)((char *)&f->conf + (apr_size_t)cmd->info);

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "off")) {
        *out = -1;
        return NULL;
    }
    return with_name(cmd, prep_parse_duration(out, arg));
}

static const char *cmd_same_time(cmd_parms *cmd, void *mconfig, const char *arg)
{
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "refuse")) {
        f->conf.same_time_accept = 0;
    } else if (!strcasecmp(arg, "accept")) {
        f->conf.same_time_accept = 1;
    } else {
        return "PrepSameTime: use refuse or accept";
    }
    return NULL;
}

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

static const char *cmd_formats(cmd_parms *cmd, void *mconfig, const char *arg)
{
    static const ap_directive_t *seen;
    static unsigned named;
    prep_feed_rt_t *f;
    const char *err = in_feed(cmd, &f);

    if (err) {
        return err;
    }
    /* archive formats and compressions each replace their default when
     * the line names any */
    if (first_word(cmd, &seen)) {
        named = 0;
    }
    if ((err = prep_formats_parse(&named, arg, cmd->pool))) {
        return with_name(cmd, err);
    }
    f->conf.limits.formats = prep_formats_of_line(named);
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
    AP_INIT_TAKE1("PrepIncoming", cmd_dir, NULL, RSRC_CONF,
                  "directory where packages arrive"),
    AP_INIT_TAKE1("PrepStore", cmd_dir, (void *)1, RSRC_CONF,
                  "directory where cortes are kept (owned by the User)"),
    AP_INIT_TAKE1("PrepSettleTime", cmd_settle, NULL, RSRC_CONF,
                  "how long a package must be unchanged before it is read"),
    AP_INIT_TAKE1("PrepUpdateInterval", cmd_settle, (void *)1, RSRC_CONF,
                  "expected time between cortes; stale after three"),
    AP_INIT_RAW_ARGS("PrepCorteTime", cmd_corte_time, NULL, RSRC_CONF,
                     "json FILE POINTER | csv FILE LINE | filename REGEX | "
                     "mtime"),
    AP_INIT_TAKE12("PrepTimeZone", cmd_zone, NULL, RSRC_CONF,
                   "offset and name of the zone times are shown in"),
    AP_INIT_TAKE1("PrepPublishFrom", cmd_publish_from, NULL, RSRC_CONF,
                  "ISO-8601 time before which nothing is served"),
    AP_INIT_TAKE12("PrepVerify", cmd_verify, NULL, RSRC_CONF,
                   "none | sha256 | signature PUBKEY.pem"),
    AP_INIT_ITERATE("PrepLimits", cmd_limits, NULL, RSRC_CONF,
                    "files=N bytes=SIZE file=SIZE ratio=N depth=N"),
    AP_INIT_TAKE1("PrepKeep", cmd_keep, NULL, RSRC_CONF,
                  "how many cortes are kept"),
    AP_INIT_TAKE1("PrepStripComponents", cmd_strip, NULL, RSRC_CONF,
                  "auto | number of leading path components to remove"),
    AP_INIT_ITERATE("PrepCompress", cmd_compress, NULL, RSRC_CONF,
                    "precompressed variants: gzip br | none"),
    AP_INIT_TAKE1("PrepFutureLimit", cmd_duration,
                  (void *)APR_OFFSETOF(prep_feed_t, future_limit), RSRC_CONF,
                  "how far ahead of the clock a corte time may be [15m]"),
    AP_INIT_TAKE1("PrepLoadTimeout", cmd_duration,
                  (void *)APR_OFFSETOF(prep_feed_t, load_timeout), RSRC_CONF,
                  "longest a load may take before it is stopped [10m]"),
    AP_INIT_TAKE1("PrepAuditInterval", cmd_duration,
                  (void *)APR_OFFSETOF(prep_feed_t, audit_interval), RSRC_CONF,
                  "pause between two audits of the served corte | off [1m]"),
    AP_INIT_TAKE1("PrepSameTime", cmd_same_time, NULL, RSRC_CONF,
                  "refuse | accept: a corte with the served corte's time "
                  "and other bytes [refuse]"),
    AP_INIT_TAKE1("PrepUser", cmd_user, NULL, RSRC_CONF,
                  "the loader account: it alone writes the stores"),
    AP_INIT_ITERATE("PrepFormats", cmd_formats, NULL, RSRC_CONF,
                    "archive formats and compressions read: tar zip 7z cpio "
                    "iso9660 cab lha rar ar gzip bzip2 xz zstd lzma lzip lz4 "
                    "compress"),
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
        return apr_psprintf(p, "<PrepFeed %s>: %s %s does not exist", feed,
                            what, dir);
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

int prep_check_feeds(apr_pool_t *ptemp, server_rec *s)
{
    const char *err = NULL;
    int i, j;

    /* Each PrepServe's feed, found once here rather than per request. */
    for (i = 0; i < prep_registry->serves->nelts && !err; i++) {
        const prep_serve_t *serve =
            &APR_ARRAY_IDX(prep_registry->serves, i, prep_serve_t);

        serve->dir->feed = prep_feed_find(serve->name);
        if (!serve->dir->feed) {
            err = apr_psprintf(ptemp,
                               "PrepServe %s (%s): no <PrepFeed %s> is "
                               "defined",
                               serve->name, serve->where, serve->name);
        }
    }
    for (i = 0; i < prep_registry->feeds->nelts && !err; i++) {
        prep_feed_rt_t *f =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);

        err = check_writable(ptemp, "PrepStore", f->conf.name, f->conf.store);
        if (!err) {
            err = check_writable(ptemp, "PrepIncoming", f->conf.name,
                                 f->conf.incoming);
        }
        for (j = 0; j < i && !err; j++) {
            prep_feed_rt_t *o =
                APR_ARRAY_IDX(prep_registry->feeds, j, prep_feed_rt_t *);
            if (!strcmp(o->conf.store, f->conf.store) ||
                !strcmp(o->conf.incoming, f->conf.incoming)) {
                err = apr_psprintf(ptemp,
                                   "<PrepFeed %s>: shares its PrepStore or "
                                   "PrepIncoming with <PrepFeed %s>",
                                   f->conf.name, o->conf.name);
            }
        }
        /* Banner slot n is banners[n - 1]; slot 1 is the default banner. */
        if (!err) {
            apr_array_header_t *b = apr_array_make(
                ptemp, 1 + prep_registry->templates->nelts, sizeof(char *));
            APR_ARRAY_PUSH(b, const char *) = NULL;
            for (j = 0; j < prep_registry->templates->nelts; j++) {
                APR_ARRAY_PUSH(b, const char *) =
                    APR_ARRAY_IDX(prep_registry->templates, j, const char *);
            }
            f->conf.banners = apr_array_copy(prep_registry->feeds->pool, b);
        }
    }
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, APLOGNO(10601) "%s", err);
        return !OK;
    }
    return OK;
}
