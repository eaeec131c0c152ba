/* check_tree.c — unit tests of PrepSource tree (prep_tree.c and the
 * loader's load_tree): the directive's words; the names of an upload in
 * progress; the walk's signature, which every change moves and nothing else
 * does, and what it reports (temporary names, too many entries, too deep);
 * the snapshot: the same files give the same tar, which the package rules
 * read back whole, a hard link, a socket and a file or directory the loader
 * cannot read are refused, a tree that is not the quiet one gives none;
 * PrepVerify against SHA256SUMS; the signature kept in STORE/snapshot/last;
 * and a whole load of a tree into a corte, set aside into processed/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;
static const char *snapdir;
static prep_feed_t feed;

static void run(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

/* TREE/rel with `text`, its mtime 2024-06-02T21:05:00-06:00. */
static void put(const char *rel, const char *text)
{
    const char *path = apr_pstrcat(pool, feed.incoming, "/", rel, NULL);
    char *dir = apr_pstrdup(pool, path);
    FILE *f;

    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
    run(apr_psprintf(pool, "touch -d @1717383900 '%s'", path));
}

static void setup(void)
{
    char tmpl[] = "/tmp/prep-tree-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    feed.source = PREP_SOURCE_TREE;
    snapdir = apr_pstrcat(pool, root, "/snap", NULL);
    ck_assert_int_eq(mkdir(snapdir, 0755), 0);
    put("index.html", "<html><body>PREP</body></html>\n");
    put("json/main.json", "{\"fechaCorte\": \"2024-06-02T21:05:00-06:00\"}\n");
    put("json/casillas/0001.json", "{\"casilla\": 1}\n");
    put("datos/PRES.csv", "a,b\n1,2\n");
}

static void teardown(void)
{
    run(apr_psprintf(pool, "chmod -R u+rwx '%s'; rm -rf '%s'", root, root));
    apr_pool_destroy(pool);
}

static const char *set_source(prep_feed_t *f, const char *word)
{
    const char *argv[] = {word};

    return prep_feed_set(f, &prep_feed_directives[PREP_FEED_SOURCE], 1, argv,
                         pool);
}

static prep_tree_walk_t *walk(void)
{
    prep_tree_walk_t *w = apr_palloc(pool, sizeof(*w));

    ck_assert_int_eq(prep_tree_walk(w, feed.incoming, &feed.limits, pool),
                     APR_SUCCESS);
    return w;
}

static int same_signature(const prep_tree_walk_t *a, const prep_tree_walk_t *b)
{
    return !memcmp(a->signature, b->signature, 32);
}

/* A snapshot of the tree as NAME in snapdir: its status; *v the verdict. */
static apr_status_t snapshot(prep_tree_snapshot_t *s, const char *name,
                             const unsigned char *quiet, prep_verdict_t *v)
{
    return prep_tree_snapshot(s, prep_tree_load_feed(&feed, pool), quiet,
                              snapdir, name, v, pool);
}

/* The snapshot NAME read back under the package rules. */
static prep_unpacked_t *unpack(const char *name, prep_verdict_t *v)
{
    const prep_feed_t *f = prep_tree_load_feed(&feed, pool);
    prep_unpacked_t *u = NULL;
    apr_file_t *pack;

    ck_assert_int_eq(apr_file_open(&pack,
                                   apr_pstrcat(pool, root, "/pack", NULL),
                                   APR_FOPEN_READ | APR_FOPEN_WRITE |
                                       APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    prep_package_unpack(&u, apr_pstrcat(pool, snapdir, "/", name, NULL), pack,
                        &f->limits, f->strip, v, pool);
    apr_file_close(pack);
    return u;
}

START_TEST(source_is_a_package_unless_told_tree)
{
    prep_feed_t f;
    const char *err;

    prep_feed_defaults(&f, pool);
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
    ck_assert_str_eq(prep_feed_directives[PREP_FEED_SOURCE].name, "PrepSource");
    ck_assert_ptr_null(set_source(&f, "Tree"));
    ck_assert_int_eq(f.source, PREP_SOURCE_TREE);
    ck_assert_ptr_null(set_source(&f, "package"));
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
    err = set_source(&f, "directory");
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "PrepSource: use package or tree");
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
}
END_TEST

START_TEST(names_of_an_upload_in_progress)
{
    ck_assert(prep_tree_name_temporary(".PRES.csv.a8Zk3Q"));
    ck_assert(prep_tree_name_temporary(".main.json.000000"));
    ck_assert(prep_tree_name_temporary("main.json.part"));
    ck_assert(prep_tree_name_temporary("main.json.FILEPART"));
    ck_assert(prep_tree_name_temporary("x.tmp"));
    ck_assert(prep_tree_name_temporary(".~tmp~"));
    ck_assert(!prep_tree_name_temporary("main.json"));
    ck_assert(!prep_tree_name_temporary(".htaccess"));
    ck_assert(!prep_tree_name_temporary(".a.b"));
    ck_assert(!prep_tree_name_temporary(".main.json.a8-k3Q")); /* not rsync */
    ck_assert(!prep_tree_name_temporary("PRES.csv.a8Zk3Q"));
}
END_TEST

START_TEST(every_change_moves_the_signature)
{
    prep_tree_walk_t *w0 = walk(), *w;

    ck_assert_uint_eq(w0->files, 4);
    ck_assert_uint_eq(w0->entries, 7); /* and json, json/casillas, datos */
    ck_assert_ptr_null(w0->temporary);
    ck_assert_int_eq(apr_time_sec(w0->newest), 1717383900);
    ck_assert(same_signature(w0, walk())); /* reading moves nothing */

    put("json/main.json", "{\"fechaCorte\": \"2024-06-02T21:10:00-06:00\"}\n");
    ck_assert(!same_signature(w0, w = walk())); /* a change, same mtime */
    w0 = w;
    run(apr_psprintf(pool, "touch -d @1717384200 '%s/datos/PRES.csv'",
                     feed.incoming));
    ck_assert(!same_signature(w0, w = walk())); /* touched */
    ck_assert_int_eq(apr_time_sec(w->newest), 1717384200);
    w0 = w;
    put("json/nuevo.json", "{}\n");
    ck_assert(!same_signature(w0, w = walk())); /* added */
    w0 = w;
    run(apr_psprintf(pool, "mv '%s/json/nuevo.json' '%s/json/otro.json'",
                     feed.incoming, feed.incoming));
    ck_assert(!same_signature(w0, w = walk())); /* renamed */
    w0 = w;
    run(apr_psprintf(pool, "rm '%s/json/otro.json'", feed.incoming));
    ck_assert(!same_signature(w0, w = walk())); /* deleted */
    w0 = w;
    run(apr_psprintf(pool, "chmod 600 '%s/index.html'", feed.incoming));
    ck_assert(!same_signature(w0, w = walk())); /* its mode */

    put("datos/.PRES.csv.Ab12Cd", "a,b\n");
    w = walk();
    ck_assert_str_eq(w->temporary, "datos/.PRES.csv.Ab12Cd");
}
END_TEST

START_TEST(the_walk_is_bounded)
{
    prep_tree_walk_t w;
    prep_limits_t l = feed.limits;

    l.files = 3;
    prep_tree_walk(&w, feed.incoming, &l, pool);
    ck_assert(w.over_files);
    ck_assert_uint_eq(w.entries, 3);
    l = feed.limits;
    l.depth = 1; /* json/casillas/0001.json: 3 levels, 2 allowed */
    prep_tree_walk(&w, feed.incoming, &l, pool);
    ck_assert_str_eq(w.deep, "json/casillas/0001.json");
    l.depth = 2;
    prep_tree_walk(&w, feed.incoming, &l, pool);
    ck_assert_ptr_null(w.deep);
    /* never a link followed */
    run(apr_psprintf(pool, "ln -s /etc '%s/etc'", feed.incoming));
    ck_assert_int_eq(prep_tree_walk(&w, feed.incoming, &feed.limits, pool),
                     APR_SUCCESS);
    ck_assert_uint_eq(w.entries, 8);
    ck_assert_int_eq(
        prep_tree_walk(&w, "/nonexistent/tree", &feed.limits, pool),
        APR_ENOENT);
}
END_TEST

START_TEST(the_same_files_give_the_same_snapshot)
{
    prep_tree_snapshot_t a, b;
    prep_verdict_t v;
    prep_unpacked_t *u;
    char *sidecar;
    apr_size_t len;
    const char *why;
    int dirfd;

    ck_assert_int_eq(snapshot(&a, "tree-a.tar", NULL, &v), APR_SUCCESS);
    ck_assert_ptr_null(v.reason);
    ck_assert_uint_eq(a.files, 4);
    ck_assert(!memcmp(a.signature, walk()->signature, 32));
    /* a directory's time is not carried: a name that came and went */
    put("json/tmp.json", "{}\n");
    run(apr_psprintf(pool, "rm '%s/json/tmp.json'", feed.incoming));
    ck_assert_int_eq(snapshot(&b, "tree-b.tar", NULL, &v), APR_SUCCESS);
    ck_assert(!memcmp(a.sha256, b.sha256, 32));
    ck_assert_uint_eq(a.size, b.size);

    /* the sidecar names the tar's SHA-256; earlier snapshots are gone */
    dirfd = open(snapdir, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(prep_incoming_read_small(&sidecar, &len, dirfd,
                                              "tree-b.tar.sha256", 4096, &why,
                                              pool),
                     APR_SUCCESS);
    close(dirfd);
    ck_assert_str_eq(sidecar, apr_pstrcat(pool, prep_hex(pool, b.sha256, 32),
                                          "  tree-b.tar\n", NULL));
    ck_assert(access(apr_pstrcat(pool, snapdir, "/tree-a.tar", NULL), F_OK));

    u = unpack("tree-b.tar", &v);
    ck_assert_msg(u != NULL, "%s: %s", v.reason, v.message);
    ck_assert_int_eq(u->entries->nelts, 4);
    ck_assert_uint_eq(u->bytes, a.bytes);
    ck_assert_uint_eq(a.bytes, walk()->bytes);
}
END_TEST

START_TEST(what_a_tar_cannot_carry_is_refused)
{
    prep_tree_snapshot_t s;
    prep_verdict_t v;
    struct sockaddr_un sa;
    prep_limits_t limits = feed.limits;
    int fd;

    feed.limits.depth = 1;
    ck_assert_int_eq(snapshot(&s, "tree-d.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "depth");
    ck_assert_str_eq(v.message, "entry \"json/casillas/0001.json\" of the "
                                "tree is more than 1 levels deep (2 below a "
                                "single top folder)");
    feed.limits = limits;
    feed.limits.files = 2;
    ck_assert_int_eq(snapshot(&s, "tree-f.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "limit-files");
    feed.limits = limits;
    feed.limits.bytes = 40;
    ck_assert_int_eq(snapshot(&s, "tree-b.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "limit-bytes");
    feed.limits = limits;

    run(apr_psprintf(pool, "ln '%s/datos/PRES.csv' '%s/datos/otro.csv'",
                     feed.incoming, feed.incoming));
    ck_assert_int_eq(snapshot(&s, "tree-l.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "link");
    /* the first of its two names in the walk's order */
    ck_assert_str_eq(v.message, "entry \"datos/PRES.csv\" is a hard link (2 "
                                "names for one file)");
    run(apr_psprintf(pool, "rm '%s/datos/otro.csv'", feed.incoming));

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    apr_cpystrn(sa.sun_path, apr_pstrcat(pool, feed.incoming, "/s", NULL),
                sizeof(sa.sun_path));
    ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    ck_assert_int_eq(snapshot(&s, "tree-s.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "special");
    ck_assert_str_eq(v.message, "entry \"s\" is a socket");
    unlink(sa.sun_path);

    if (geteuid() != 0) { /* root reads whatever the mode */
        run(apr_psprintf(pool, "chmod 000 '%s/json/casillas'", feed.incoming));
        ck_assert_int_eq(snapshot(&s, "tree-u.tar", NULL, &v), APR_SUCCESS);
        ck_assert_str_eq(v.reason, "unreadable");
        ck_assert_ptr_nonnull(strstr(v.message, "json/casillas"));
        run(apr_psprintf(pool, "chmod 755 '%s/json/casillas'", feed.incoming));
        run(apr_psprintf(pool, "chmod 000 '%s/index.html'", feed.incoming));
        ck_assert_int_eq(snapshot(&s, "tree-u.tar", NULL, &v), APR_SUCCESS);
        ck_assert_str_eq(v.reason, "unreadable");
        ck_assert_ptr_nonnull(strstr(v.message, "index.html"));
    }
}
END_TEST

START_TEST(a_link_is_refused_by_the_package_rules)
{
    prep_tree_snapshot_t s;
    prep_verdict_t v;

    run(apr_psprintf(pool, "ln -s /etc/passwd '%s/json/enlace.json'",
                     feed.incoming));
    ck_assert_int_eq(snapshot(&s, "tree-k.tar", NULL, &v), APR_SUCCESS);
    ck_assert_ptr_null(v.reason);
    ck_assert_ptr_null(unpack("tree-k.tar", &v));
    ck_assert_str_eq(v.reason, "link");
    ck_assert_str_eq(v.message, "entry \"json/enlace.json\" is a symbolic link "
                                "to \"/etc/passwd\"");
}
END_TEST

START_TEST(only_the_quiet_tree_is_taken)
{
    prep_tree_snapshot_t s;
    prep_verdict_t v;
    prep_tree_walk_t *w = walk();

    put("json/main.json", "{\"fechaCorte\": \"2024-06-02T21:10:00-06:00\"}\n");
    ck_assert_int_eq(snapshot(&s, "tree-q.tar", w->signature, &v), APR_EAGAIN);
    ck_assert(access(apr_pstrcat(pool, snapdir, "/tree-q.tar", NULL), F_OK));
    ck_assert(
        access(apr_pstrcat(pool, snapdir, "/tree-q.tar.tmp", NULL), F_OK));
    w = walk();
    ck_assert_int_eq(snapshot(&s, "tree-q.tar", w->signature, &v), APR_SUCCESS);
    put("datos/.PRES.csv.Zz99Yy", "a");
    ck_assert_int_eq(snapshot(&s, "tree-r.tar", NULL, &v), APR_EAGAIN);
}
END_TEST

/* SHA256SUMS of the tree as sha256sum writes it, lines `extra` added. */
static void manifest(const char *extra)
{
    run(apr_psprintf(pool,
                     "cd '%s' && find . -type f ! -name SHA256SUMS -print0 | "
                     "sort -z | xargs -0 sha256sum > '%s/sums' && "
                     "printf '%%s' '%s' >> '%s/sums' && "
                     "mv '%s/sums' SHA256SUMS",
                     feed.incoming, root, extra, root, root));
}

START_TEST(prepverify_checks_the_manifest)
{
    prep_tree_snapshot_t s;
    prep_verdict_t v;
    prep_unpacked_t *u;

    feed.verify = PREP_VERIFY_SHA256;
    ck_assert_int_eq(snapshot(&s, "tree-m.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "verify");
    ck_assert_ptr_nonnull(strstr(v.message, "SHA256SUMS"));

    manifest("");
    ck_assert_int_eq(snapshot(&s, "tree-m.tar", NULL, &v), APR_SUCCESS);
    ck_assert_msg(v.reason == NULL, "%s", v.message);
    u = unpack("tree-m.tar", &v); /* the manifest is not in the corte */
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(u->entries->nelts, 4);

    put("json/main.json", "{\"fechaCorte\": \"2024-06-02T21:10:00-06:00\"}\n");
    ck_assert_int_eq(snapshot(&s, "tree-m.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "verify");
    ck_assert_ptr_nonnull(strstr(v.message, "\"json/main.json\""));
    ck_assert_ptr_nonnull(strstr(v.message, "SHA256SUMS says"));

    manifest("");
    put("json/nuevo.json", "{}\n");
    ck_assert_int_eq(snapshot(&s, "tree-m.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "verify");
    ck_assert_str_eq(v.message, "the tree's file \"json/nuevo.json\" is not in "
                                "its manifest SHA256SUMS");

    manifest("0000000000000000000000000000000000000000000000000000000000000000"
             "  ./json/borrado.json\n");
    ck_assert_int_eq(snapshot(&s, "tree-m.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "verify");
    ck_assert_str_eq(v.message, "SHA256SUMS names \"json/borrado.json\", "
                                "which the tree does not hold as a file");

    manifest("no es una suma\n");
    ck_assert_int_eq(snapshot(&s, "tree-m.tar", NULL, &v), APR_SUCCESS);
    ck_assert_str_eq(v.reason, "verify");
    ck_assert_ptr_nonnull(strstr(v.message, "as sha256sum writes it"));
}
END_TEST

START_TEST(the_tree_loaded_last_is_remembered)
{
    unsigned char a[32], b[32];

    ck_assert_int_ne(prep_tree_last_read(a, feed.store, pool), APR_SUCCESS);
    ck_assert_int_eq(
        mkdir(apr_pstrcat(pool, feed.store, "/" PREP_SNAPSHOT_DIR, NULL), 0755),
        0);
    memcpy(a, walk()->signature, 32);
    ck_assert_int_eq(prep_tree_last_write(a, feed.store, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_tree_last_read(b, feed.store, pool), APR_SUCCESS);
    ck_assert(!memcmp(a, b, 32));
}
END_TEST

START_TEST(a_tree_is_loaded_into_a_corte)
{
    prep_load_request_t req;
    prep_load_result_t *res;
    prep_tree_walk_t *w = walk();
    unsigned char last[32];
    const char *served;

    memset(&req, 0, sizeof(req));
    req.name = "tree-20240603T030500Z.tar";
    req.mode = PREP_LOAD_NEW;
    req.tree_signature = w->signature;
    res = prep_load_package(&feed, &req, NULL, NULL, pool);
    ck_assert_msg(res->outcome == PREP_LOAD_PUBLISHED, "%s: %s",
                  res->verdict.reason, res->verdict.message);
    /* PrepCorteTime mtime: the newest file's */
    ck_assert_int_eq(apr_time_sec(res->corte->time), 1717383900);
    ck_assert_str_eq(res->corte->package, req.name);
    ck_assert_str_eq(test_current_id(feed.store, pool), res->corte->id);
    served = test_served(feed.store, res->corte->id, "json/main.json", 0, pool);
    ck_assert_str_eq(served,
                     "{\"fechaCorte\": \"2024-06-02T21:05:00-06:00\"}\n");
    ck_assert_int_eq(
        access(apr_pstrcat(pool, feed.store, "/" PREP_PROCESSED_DIR "/",
                           req.name, NULL),
               F_OK),
        0);
    ck_assert_int_eq(
        access(apr_pstrcat(pool, feed.store, "/" PREP_PROCESSED_DIR "/",
                           req.name, ".sha256", NULL),
               F_OK),
        0);
    ck_assert_int_eq(prep_tree_last_read(last, feed.store, pool), APR_SUCCESS);
    ck_assert(!memcmp(last, w->signature, 32));
    ck_assert_int_eq(access(feed.incoming, F_OK), 0);

    /* a tree that moved since it was quiet: nothing loaded */
    put("json/main.json", "{\"fechaCorte\": \"2024-06-02T21:10:00-06:00\"}\n");
    req.name = "tree-20240603T031000Z.tar";
    res = prep_load_package(&feed, &req, NULL, NULL, pool);
    ck_assert_int_eq(res->outcome, PREP_LOAD_CHANGED);

    /* refused: into rejected/ with its reason, the corte stays */
    run(apr_psprintf(pool, "ln -s /etc/passwd '%s/json/enlace.json'",
                     feed.incoming));
    w = walk();
    req.tree_signature = w->signature;
    req.name = "tree-20240603T031500Z.tar";
    res = prep_load_package(&feed, &req, NULL, NULL, pool);
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "link");
    ck_assert_int_eq(
        access(apr_pstrcat(pool, feed.store, "/" PREP_REJECTED_DIR "/",
                           req.name, NULL),
               F_OK),
        0);
    ck_assert_int_eq(prep_tree_last_read(last, feed.store, pool), APR_SUCCESS);
    ck_assert(!memcmp(last, w->signature, 32));
}
END_TEST

Suite *suite_tree(void)
{
    Suite *s = suite_create("tree");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, source_is_a_package_unless_told_tree);
    tcase_add_test(tc, names_of_an_upload_in_progress);
    tcase_add_test(tc, every_change_moves_the_signature);
    tcase_add_test(tc, the_walk_is_bounded);
    tcase_add_test(tc, the_same_files_give_the_same_snapshot);
    tcase_add_test(tc, what_a_tar_cannot_carry_is_refused);
    tcase_add_test(tc, a_link_is_refused_by_the_package_rules);
    tcase_add_test(tc, only_the_quiet_tree_is_taken);
    tcase_add_test(tc, prepverify_checks_the_manifest);
    tcase_add_test(tc, the_tree_loaded_last_is_remembered);
    tcase_add_test(tc, a_tree_is_loaded_into_a_corte);
    suite_add_tcase(s, tc);
    return s;
}
