/* check_banner.c — unit tests of the "Último corte" banner (prep_banner.c):
 * its label, its HTML (default and templates), its insertion right after
 * the opening <body> tag, every other byte as delivered, and the banner
 * phase of a load (each page with its banners appended to the pack). */
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const prep_zone_t centro = {-21600, "Tiempo del Centro"};
static const prep_zone_t pacifico = {-25200, "Tiempo del Pacífico"};

/* 2024-06-02T21:05:00-06:00 */
#define CORTE apr_time_from_sec(APR_INT64_C(1717383900))

#define BANNER "<div id=\"prep-corte\">BANNER</div>"

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* ------------------------------------------------------------------ */
/* label and rendering */

START_TEST(label_names_the_date_time_and_zone_of_the_corte)
{
    prep_zone_t india = {19800, "IST"};
    prep_zone_t sureste = {-18000, "Tiempo del Sureste"};

    ck_assert_str_eq(
        prep_banner_label(pool, CORTE, &centro),
        "Último corte: 02/06/2024 21:05 (Tiempo del Centro, UTC-06:00)");
    ck_assert_str_eq(
        prep_banner_label(pool, CORTE, &pacifico),
        "Último corte: 02/06/2024 20:05 (Tiempo del Pacífico, UTC-07:00)");
    ck_assert_str_eq(
        prep_banner_label(pool, CORTE, &sureste),
        "Último corte: 02/06/2024 22:05 (Tiempo del Sureste, UTC-05:00)");
    /* the date changes with the zone */
    ck_assert_str_eq(prep_banner_label(pool, CORTE, &india),
                     "Último corte: 03/06/2024 08:35 (IST, UTC+05:30)");
    /* seconds are not shown; single digits are padded */
    ck_assert_str_eq(
        prep_banner_label(
            pool, prep_civil_to_time(2024, 1, 5, 7, 3, 59, -21600), &centro),
        "Último corte: 05/01/2024 07:03 (Tiempo del Centro, UTC-06:00)");
}
END_TEST

START_TEST(default_banner_is_a_div_with_the_label)
{
    const char *html = prep_banner_render(pool, NULL, CORTE, &centro, 0);
    const char *label = prep_banner_label(pool, CORTE, &centro);
    const char *tail = apr_pstrcat(pool, ">", label, "</div>", NULL);

    ck_assert_msg(!strncmp(html, "<div id=\"prep-corte\"", 20), "%s", html);
    ck_assert_uint_ge(strlen(html), strlen(tail));
    ck_assert_str_eq(html + strlen(html) - strlen(tail), tail);
    ck_assert_ptr_null(strstr(html, "{{"));
    ck_assert_ptr_null(strstr(html, "}}"));
    /* the default banner follows the zone */
    html = prep_banner_render(pool, NULL, CORTE, &pacifico, 0);
    ck_assert_ptr_nonnull(
        strstr(html, ">Último corte: 02/06/2024 20:05 (Tiempo del Pacífico, "
                     "UTC-07:00)</div>"));
}
END_TEST

START_TEST(template_placeholders_are_filled_in_the_zone)
{
    ck_assert_str_eq(
        prep_banner_render(pool,
                           "<aside class=\"aviso-corte\" data-iso=\"{{iso}}\">"
                           "Corte del {{fecha}} a las {{hora}} horas "
                           "({{zona}})</aside>",
                           CORTE, &centro, 0),
        "<aside class=\"aviso-corte\" data-iso=\"2024-06-02T21:05:00-06:00\">"
        "Corte del 02/06/2024 a las 21:05 horas (Tiempo del Centro, "
        "UTC-06:00)</aside>");
    ck_assert_str_eq(prep_banner_render(pool,
                                        "{{fecha}}|{{hora}}|{{zona}}|{{iso}}",
                                        CORTE, &pacifico, 0),
                     "02/06/2024|20:05|Tiempo del Pacífico, "
                     "UTC-07:00|2024-06-02T20:05:00-07:00");
    /* repeated, adjacent, at both ends */
    ck_assert_str_eq(prep_banner_render(pool, "{{hora}}{{hora}} {{hora}}",
                                        CORTE, &centro, 0),
                     "21:0521:05 21:05");
    /* no placeholder: the template as written */
    ck_assert_str_eq(prep_banner_render(pool, "<b>Resultados &amp; más</b>",
                                        CORTE, &centro, 0),
                     "<b>Resultados &amp; más</b>");
    ck_assert_str_eq(prep_banner_render(pool, "", CORTE, &centro, 0), "");
    /* unknown or unfinished placeholders stay as written */
    ck_assert_str_eq(prep_banner_render(pool, "{{otro}} {{hora}} {{FECHA}}",
                                        CORTE, &centro, 0),
                     "{{otro}} 21:05 {{FECHA}}");
    ck_assert_str_eq(
        prep_banner_render(pool, "{{hora {{fecha} {{", CORTE, &centro, 0),
        "{{hora {{fecha} {{");
    ck_assert_str_eq(
        prep_banner_render(pool, "{ {hora}} }}", CORTE, &centro, 0),
        "{ {hora}} }}");
}
END_TEST

START_TEST(template_may_hold_hundreds_of_placeholders)
{
    /* a template may hold any number of placeholders (up to 64 KB) */
    char *tpl = apr_palloc(pool, 300 * 9 + 1), *want, *o = tpl;
    const char *out;
    int i;

    for (i = 0; i < 300; i++) {
        o = stpcpy(o, "{{hora}}.");
    }
    want = apr_palloc(pool, 300 * 6 + 1);
    for (o = want, i = 0; i < 300; i++) {
        o = stpcpy(o, "21:05.");
    }
    out = prep_banner_render(pool, tpl, CORTE, &centro, 0);
    ck_assert_ptr_null(strstr(out, "{{"));
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(zone_name_is_escaped_in_templates_and_the_default)
{
    prep_zone_t odd = {-21600, "A&B <Zona> \"centro\" l'heure"};
    const char *html;

    /* the zone name is text: escaped in templates and in the default */
    ck_assert_str_eq(
        prep_banner_render(pool, "<span title='{{zona}}'>{{zona}}</span>",
                           CORTE, &odd, 0),
        "<span title='A&amp;B &lt;Zona&gt; &quot;centro&quot; l&#39;heure, "
        "UTC-06:00'>A&amp;B &lt;Zona&gt; &quot;centro&quot; l&#39;heure, "
        "UTC-06:00</span>");
    html = prep_banner_render(pool, NULL, CORTE, &odd, 0);
    ck_assert_ptr_nonnull(strstr(html, "(A&amp;B &lt;Zona&gt; &quot;centro"
                                       "&quot; l&#39;heure, UTC-06:00)</div>"));
    ck_assert_ptr_null(strstr(html, "<Zona>"));
    /* the label is text, not HTML: not escaped */
    ck_assert_str_eq(prep_banner_label(pool, CORTE, &odd),
                     "Último corte: 02/06/2024 21:05 (A&B <Zona> \"centro\" "
                     "l'heure, UTC-06:00)");
    /* the template itself is the operator's HTML: kept as written */
    ck_assert_str_eq(
        prep_banner_render(pool, "<i a=\"&lt;\">&amp;</i>", CORTE, &odd, 0),
        "<i a=\"&lt;\">&amp;</i>");
}
END_TEST

/* ------------------------------------------------------------------ */
/* insertion */

/* Inserts BANNER into the `len` bytes of html and checks that the result is
 * html[0..at) BANNER html[at..len), byte for byte. */
static void inserted_at(const char *html, apr_size_t len, apr_size_t at)
{
    apr_size_t out_len = 0, blen = strlen(BANNER);
    char *out = prep_banner_insert(pool, html, len, BANNER, &out_len);

    ck_assert_msg(out != NULL, "no body found in \"%.*s\"", (int)len, html);
    ck_assert_uint_eq(out_len, len + blen);
    ck_assert_msg(!memcmp(out, html, at), "prefix changed");
    ck_assert_msg(!memcmp(out + at, BANNER, blen),
                  "banner not at %lu in \"%.*s\"", (unsigned long)at,
                  (int)out_len, out);
    ck_assert_msg(!memcmp(out + at + blen, html + at, len - at),
                  "suffix changed");
    ck_assert_int_eq(out[out_len], '\0');
}

/* The banner goes right after the first `tag` of html (a C string). */
static void inserted_after(const char *html, const char *tag)
{
    const char *at = strstr(html, tag);

    ck_assert_ptr_nonnull(at);
    inserted_at(html, strlen(html), (apr_size_t)(at - html) + strlen(tag));
}

static void not_inserted(const char *html, apr_size_t len)
{
    apr_size_t out_len = 12345;

    ck_assert_msg(prep_banner_insert(pool, html, len, BANNER, &out_len) == NULL,
                  "a body was found in \"%.*s\"", (int)len, html);
}

START_TEST(banner_goes_right_after_the_body_tag)
{
    const char *html = "<!DOCTYPE html><html><head><title>PREP</title></head>"
                       "<body><h1>Resultados</h1></body></html>\n";
    apr_size_t out_len;
    char *out = prep_banner_insert(pool, html, strlen(html), BANNER, &out_len);

    ck_assert_str_eq(out, "<!DOCTYPE html><html><head><title>PREP</title>"
                          "</head><body>" BANNER
                          "<h1>Resultados</h1></body></html>\n");
    ck_assert_uint_eq(out_len, strlen(out));
    inserted_after(html, "<body>");
    inserted_after("<body>", "<body>");
    inserted_after("<body>\n", "<body>");
    inserted_after("  <body>x", "<body>");
}
END_TEST

START_TEST(banner_follows_first_body_tag_any_attributes_or_case)
{
    inserted_after("<html><body class=\"x\" data-y='>'><p>x</p>",
                   "data-y='>'>");
    inserted_after("<html><body data-y=\">\" class=x><p>x</p>", "class=x>");
    inserted_after("<html><body data-a=\"it's\" data-b='say \"hi\"'>x",
                   "\"hi\"'>");
    inserted_after("<html><body\n  class=\"prep\"\n>x", "\"prep\"\n>");
    inserted_after("<html><body\tonload=\"f()\">x", "\"f()\">");
    inserted_after("<html><body/>x", "<body/>");
    inserted_after("<html><body class=a'b>x</body>", "a'b>");
    /* case does not matter */
    inserted_after("<HTML><BODY>x</BODY></HTML>", "<BODY>");
    inserted_after("<html><Body Class=\"x\">x", "\"x\">");
    inserted_after("<html><bOdY>x", "<bOdY>");
    /* only the first */
    inserted_at("<body class=a><body class=b>", 28, 14);
}
END_TEST

START_TEST(no_body_tag_no_banner)
{
    static const char *const none[] = {
        "",
        "<p>sin body</p>",
        "<html><head><title>x</title></head></html>",
        "body",
        "<html>body</html>",
        "<bodyx>x</bodyx>",
        "<body-x>x",
        "<body_>x",
        "<table><tbody><tr><td>1</td></tr></tbody></table>",
        "</body>",
        "< body>",
        "<html><body",            /* the tag never ends */
        "<html><body class=\"x>", /* nor its quoted value */
        "<html><body class='x\">",
        "<!-- <body> -->",                  /* only in a comment */
        "<!-- <body> ",                     /* a comment that never ends */
        "<script><body></script>",          /* only in a script */
        "<script>document.write('<body>')", /* a script that never ends */
        "<style>body{} <body></style>",
    };
    size_t i;

    for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        not_inserted(none[i], strlen(none[i]));
    }
}
END_TEST

START_TEST(body_in_comments_and_scripts_is_not_the_body_tag)
{
    /* a <body> in a comment or a script is not the body tag */
    inserted_after("<html><!-- <body class=old> --><body class=real>x",
                   "<body class=real>");
    inserted_after("<html><!--<body>--><!-- x --><BODY>x", "<BODY>");
    inserted_after("<html><!-- a -- <body> -- b --><body class=real>x",
                   "<body class=real>");
    inserted_after("<html><head><script>document.write('<body>');</script>"
                   "</head><body class=real>x",
                   "<body class=real>");
    inserted_after("<html><head><SCRIPT type=\"text/javascript\">"
                   "var s = \"<body>\";</SCRIPT></head><body class=real>x",
                   "<body class=real>");
    inserted_after("<html><head><script src=a.js></script><script>"
                   "x='<body>'</script ></head><body class=real>x",
                   "<body class=real>");
    inserted_after("<html><head><style>/* <body> */ body{}</style></head>"
                   "<body class=real>x",
                   "<body class=real>");
    /* <scripts> is not a script: what follows it is read */
    inserted_after("<html><scripts><body class=real>x", "<body class=real>");
}
END_TEST

START_TEST(body_in_text_or_attribute_values_is_not_the_body_tag)
{
    /* "<body>" as the text of a title or a textarea, or in the value of an
     * attribute, is not the body tag */
    inserted_after("<html><head><title>Usa <body> aquí</title></head>"
                   "<body class=real>x",
                   "<body class=real>");
    inserted_after("<html><head><meta name=\"description\" "
                   "content=\"<body> de ejemplo\"></head><body class=real>x",
                   "<body class=real>");
    inserted_after("<html><head><meta content='<body>'></head>"
                   "<body class=real>x",
                   "<body class=real>");
    inserted_after("<html><textarea><body></textarea><body class=real>x",
                   "<body class=real>");
}
END_TEST

START_TEST(nul_bytes_in_the_page_are_bytes_like_any_other)
{
    /* NUL bytes anywhere are bytes like any other */
    static const char html[] = "<html>\0<head>\0</head>\0"
                               "<body a=\"\0>\">\0rest\0</body>\0";
    static const char split[] = "<bo\0dy><body>x";
    static const char comment[] = "<!-- \0 <body> \0 --><body>\0";
    apr_size_t len = sizeof(html) - 1;
    const char *tag_end = html + 22 + 13; /* after <body a="\0>"> */

    ck_assert_int_eq(tag_end[-1], '>');
    ck_assert_int_eq(tag_end[0], '\0');
    inserted_at(html, len, (apr_size_t)(tag_end - html));
    inserted_at(split, sizeof(split) - 1, sizeof(split) - 2);
    inserted_at(comment, sizeof(comment) - 1, sizeof(comment) - 2);
    not_inserted("<html>\0<body>", 6);
}
END_TEST

START_TEST(only_len_bytes_of_the_page_are_read)
{
    /* only `len` bytes are the document */
    static const char html[] = "<html><body class=x>rest";

    not_inserted(html, 9);  /* "<html><bo" */
    not_inserted(html, 11); /* "<html><body" */
    not_inserted(html, 19); /* "<html><body class=x" */
    inserted_at(html, 20, 20);
    inserted_at(html, strlen(html), 20);
}
END_TEST

START_TEST(page_ending_inside_a_tag_is_not_read_past)
{
    /* a page that stops inside a tag name is read no further than its
     * last byte (the copies are exactly as long as the page, so the
     * sanitizers see any byte read past it) */
    static const char *const ends[] = {
        "<",         "<!",       "<!-",        "<!--",   "<b",
        "<body",     "<BODY",    "<script",    "<style", "<title",
        "<textarea", "<body a=", "<body a=\"", "<scrip",
    };
    size_t i;

    for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        size_t len = strlen(ends[i]);
        char *copy = malloc(len);
        apr_size_t out_len;

        ck_assert_ptr_nonnull(copy);
        memcpy(copy, ends[i], len);
        ck_assert_msg(prep_banner_insert(pool, copy, len, BANNER, &out_len) ==
                          NULL,
                      "a body found in \"%s\"", ends[i]);
        free(copy);
    }
}
END_TEST

START_TEST(banner_is_found_after_a_megabyte_of_head)
{
    /* a large page: the body after 1 MB of head, a large body after it */
    apr_size_t head = 1024 * 1024, len = head + 2 * 1024 * 1024 + 64, i;
    char *html = apr_palloc(pool, len + 1), *o = html;

    o = stpcpy(o, "<html><head>");
    for (i = 0; (apr_size_t)(o - html) < head; i++) {
        o = stpcpy(o, i % 2 ? "<meta name=x content=\"y\">\n" : "<!-- c -->\n");
    }
    o = stpcpy(o, "</head><body class=\"real\">");
    head = (apr_size_t)(o - html);
    memset(o, 'z', len - head);
    html[len] = '\0';
    inserted_at(html, len, head);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the banner phase of a load */

/* A pack in a temporary file, removed when it is closed. */
static void pack_open(prep_pack_t *pack)
{
    ck_assert_int_eq(
        apr_file_mktemp(&pack->file, apr_pstrdup(pool, "/tmp/prep-pack-XXXXXX"),
                        APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE |
                            APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE,
                        pool),
        APR_SUCCESS);
}

/* Files written one after the other into a pack, as the unpack does. */
static prep_unpacked_t *pack_files(prep_pack_t *pack, const char *const *paths,
                                   const char *const *texts, int n)
{
    prep_unpacked_t *u = apr_pcalloc(pool, sizeof(*u));
    int i;

    u->entries = apr_array_make(pool, n, sizeof(prep_entry_t));
    u->dirs = apr_array_make(pool, 1, sizeof(const char *));
    for (i = 0; i < n; i++) {
        prep_entry_t *e = apr_array_push(u->entries);
        apr_size_t len = strlen(texts[i]);

        memset(e, 0, sizeof(*e));
        e->path = paths[i];
        e->offset = pack->end;
        e->size = (apr_off_t)len;
        ck_assert_int_eq(apr_file_write_full(pack->file, texts[i], len, NULL),
                         APR_SUCCESS);
        pack->end += (apr_off_t)len;
    }
    return u;
}

/* The bytes of a rep, read back from the pack. */
static char *rep_bytes(const prep_pack_t *pack, const prep_rep_t *rep)
{
    char *out;

    ck_assert_int_eq(prep_pack_read(pack, (apr_off_t)rep->offset,
                                    (apr_size_t)rep->length, &out, pool),
                     APR_SUCCESS);
    return out;
}

START_TEST(the_banner_phase_appends_each_page_with_its_banners)
{
    static const char *const paths[] = {"index.html", "fragmento.html",
                                        "json/main.json"};
    static const char *const texts[] = {"<html><BODY id=x>A</BODY></html>",
                                        "<p>sin body</p>", "{\"a\": 1}"};
    apr_array_header_t *banners = apr_array_make(pool, 2, sizeof(char *));
    prep_verdict_t v = {NULL, NULL};
    prep_pack_t pack = {NULL, 0};
    unsigned char md[32];
    char etag[48], *bytes;
    prep_unpacked_t *u;
    prep_plan_t *plans;
    apr_off_t end;
    int n;

    pack_open(&pack);
    u = pack_files(&pack, paths, texts, 3);
    end = pack.end;
    plans = prep_plans_make(u, 2, &n, pool);
    ck_assert_int_eq(n, 3);
    /* no banner: nothing added */
    ck_assert_int_eq(prep_banner_add_reps(&pack, plans, n, NULL, CORTE, &centro,
                                          0, NULL, &v, pool),
                     APR_SUCCESS);
    ck_assert(pack.end == end);
    ck_assert_int_eq(plans[0].nreps, 1);
    /* slot 1: the default banner, slot 2: a template */
    APR_ARRAY_PUSH(banners, const char *) = NULL;
    APR_ARRAY_PUSH(banners, const char *) = "<b>{{hora}}</b>";
    ck_assert_int_eq(prep_banner_add_reps(&pack, plans, n, banners, CORTE,
                                          &centro, 0, NULL, &v, pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(v.reason);
    ck_assert_int_eq(plans[0].nreps, 3);
    ck_assert_uint_eq(plans[0].reps[1].banner, 1);
    ck_assert_uint_eq(plans[0].reps[2].banner, 2);
    ck_assert_uint_eq(plans[0].reps[1].encoding, PREP_ENC_IDENTITY);
    ck_assert(plans[0].reps[1].offset == (apr_uint64_t)end);
    bytes = rep_bytes(&pack, &plans[0].reps[1]);
    ck_assert_ptr_nonnull(strstr(bytes, "<BODY id=x><div"));
    ck_assert_ptr_nonnull(strstr(bytes, "02/06/2024 21:05"));
    bytes = rep_bytes(&pack, &plans[0].reps[2]);
    ck_assert_str_eq(bytes, "<html><BODY id=x><b>21:05</b>A</BODY></html>");
    /* each rep's ETag is the SHA-256 of its bytes */
    EVP_Digest(bytes, strlen(bytes), md, NULL, EVP_sha256(), NULL);
    prep_etag_from_sha256(etag, md);
    ck_assert_str_eq(plans[0].reps[2].etag, etag);
    ck_assert(pack.end ==
              (apr_off_t)(plans[0].reps[2].offset + plans[0].reps[2].length));
    /* a page without <body> and a file that is no page: as delivered */
    ck_assert_int_eq(plans[1].nreps, 1);
    ck_assert_int_eq(plans[2].nreps, 1);
    /* the files' own bytes are untouched */
    ck_assert_str_eq(rep_bytes(&pack, &plans[1].reps[0]), "<p>sin body</p>");
    apr_file_close(pack.file);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the banner state: drill and close */

/* The default banner of every version before issue 10, byte for byte. */
#define DEFAULT_BANNER_2105                                                    \
    "<div id=\"prep-corte\" role=\"status\" style=\"margin:0;padding:6px "     \
    "12px;background:#1d3557;color:#fff;font:600 15px/1.4 "                    \
    "system-ui,sans-serif;text-align:center\">Último corte: 02/06/2024 "      \
    "21:05 (Tiempo del Centro, UTC-06:00)</div>"

START_TEST(estado_names_the_drill_and_the_close)
{
    ck_assert_str_eq(prep_banner_estado(0), "");
    ck_assert_str_eq(prep_banner_estado(PREP_BANNER_STATE_DRILL), "SIMULACRO");
    ck_assert_str_eq(prep_banner_estado(PREP_BANNER_STATE_CLOSED),
                     "Cierre del PREP");
    ck_assert_str_eq(
        prep_banner_estado(PREP_BANNER_STATE_DRILL | PREP_BANNER_STATE_CLOSED),
        "SIMULACRO · Cierre del PREP");
    /* bits no version knows say nothing */
    ck_assert_str_eq(prep_banner_estado(1u << 7), "");
}
END_TEST

START_TEST(default_banner_without_state_is_the_banner_as_before)
{
    ck_assert_str_eq(prep_banner_render(pool, NULL, CORTE, &centro, 0),
                     DEFAULT_BANNER_2105);
}
END_TEST

START_TEST(default_banner_says_simulacro_before_the_time_and_the_close_after)
{
    const char *drill =
        prep_banner_render(pool, NULL, CORTE, &centro, PREP_BANNER_STATE_DRILL);
    const char *closed = prep_banner_render(pool, NULL, CORTE, &centro,
                                            PREP_BANNER_STATE_CLOSED);
    const char *both =
        prep_banner_render(pool, NULL, CORTE, &centro,
                           PREP_BANNER_STATE_DRILL | PREP_BANNER_STATE_CLOSED);
    const char *label = prep_banner_label(pool, CORTE, &centro);

    ck_assert_ptr_nonnull(
        strstr(drill, apr_pstrcat(pool, "><strong>SIMULACRO</strong> · ", label,
                                  "</div>", NULL)));
    ck_assert_msg(!strncmp(drill, "<div id=\"prep-corte\"", 20), "%s", drill);
    ck_assert_ptr_nonnull(
        strstr(closed, apr_pstrcat(pool, ">", label, " · Cierre del PREP</div>",
                                   NULL)));
    ck_assert_ptr_null(strstr(closed, "SIMULACRO"));
    ck_assert_ptr_nonnull(
        strstr(both, apr_pstrcat(pool, "><strong>SIMULACRO</strong> · ", label,
                                 " · Cierre del PREP</div>", NULL)));
}
END_TEST

START_TEST(estado_placeholder_is_filled_in_templates)
{
    ck_assert_str_eq(prep_banner_render(pool, "<b>{{estado}}</b> {{hora}}",
                                        CORTE, &centro,
                                        PREP_BANNER_STATE_DRILL),
                     "<b>SIMULACRO</b> 21:05");
    ck_assert_str_eq(prep_banner_render(pool, "{{hora}}|{{estado}}|", CORTE,
                                        &centro, PREP_BANNER_STATE_CLOSED),
                     "21:05|Cierre del PREP|");
    /* no state: the placeholder is empty, not left as written */
    ck_assert_str_eq(prep_banner_render(pool, "<b>{{estado}}</b>{{hora}}",
                                        CORTE, &centro, 0),
                     "<b></b>21:05");
    /* the state says nothing unless the template asks for it */
    ck_assert_str_eq(prep_banner_render(pool, "{{hora}}", CORTE, &centro,
                                        PREP_BANNER_STATE_DRILL),
                     "21:05");
}
END_TEST

START_TEST(the_banner_phase_renders_the_state_into_each_page)
{
    static const char *const paths[] = {"index.html"};
    static const char *const texts[] = {"<html><body>A</body></html>"};
    apr_array_header_t *banners = apr_array_make(pool, 2, sizeof(char *));
    prep_verdict_t v = {NULL, NULL};
    prep_pack_t pack = {NULL, 0};
    prep_unpacked_t *u;
    prep_plan_t *plans;
    int n;

    pack_open(&pack);
    u = pack_files(&pack, paths, texts, 1);
    plans = prep_plans_make(u, 2, &n, pool);
    APR_ARRAY_PUSH(banners, const char *) = NULL;
    APR_ARRAY_PUSH(banners, const char *) = "<i>{{estado}}</i>";
    ck_assert_int_eq(prep_banner_add_reps(&pack, plans, n, banners, CORTE,
                                          &centro, PREP_BANNER_STATE_DRILL,
                                          NULL, &v, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(plans[0].nreps, 3);
    ck_assert_ptr_nonnull(strstr(rep_bytes(&pack, &plans[0].reps[1]),
                                 "<strong>SIMULACRO</strong> · Último corte"));
    ck_assert_str_eq(rep_bytes(&pack, &plans[0].reps[2]),
                     "<html><body><i>SIMULACRO</i>A</body></html>");
    apr_file_close(pack.file);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PrepBannerPosition */

/* pos from the words of a PrepBannerPosition line: NULL or the sentence */
static const char *position(prep_banner_position_t *pos, const char *line)
{
    apr_array_header_t *w = prep_feed_words(line, pool);

    return prep_banner_position_parse(pos, w->nelts,
                                      (const char *const *)w->elts, pool);
}

/* The value of CSS property `prop` in the banner's style attribute, or
 * NULL when it has none. */
static const char *style_of(const char *html, const char *prop)
{
    const char *style = strstr(html, "style=\"");
    const char *end, *c;
    apr_size_t n = strlen(prop);

    ck_assert_ptr_nonnull(style);
    style += 7;
    end = strchr(style, '"');
    ck_assert_ptr_nonnull(end);
    for (c = style; c && c < end; c = strchr(c, ';'), c = c ? c + 1 : NULL) {
        if (!strncmp(c, prop, n) && c[n] == ':') {
            const char *semi = strchr(c, ';');

            return apr_pstrndup(
                pool, c + n + 1,
                (apr_size_t)((semi && semi < end ? semi : end) - (c + n + 1)));
        }
    }
    return NULL;
}

START_TEST(banner_position_words_are_read_as_configtest_reads_them)
{
    prep_banner_position_t pos = {PREP_BANNER_STATIC, NULL}, before;

    ck_assert_ptr_null(position(&pos, "sticky"));
    ck_assert_int_eq(pos.place, PREP_BANNER_STICKY);
    ck_assert_ptr_null(pos.offset);
    ck_assert_ptr_null(position(&pos, "Fixed-Top 56PX"));
    ck_assert_int_eq(pos.place, PREP_BANNER_FIXED_TOP);
    ck_assert_str_eq(pos.offset, "56px");
    ck_assert_ptr_null(position(&pos, "fixed-bottom 3.5rem"));
    ck_assert_int_eq(pos.place, PREP_BANNER_FIXED_BOTTOM);
    ck_assert_str_eq(pos.offset, "3.5rem");
    ck_assert_ptr_null(position(&pos, "sticky 0"));
    ck_assert_str_eq(pos.offset, "0");
    ck_assert_ptr_null(position(&pos, "sticky 1.25em"));
    ck_assert_ptr_null(position(&pos, "static"));
    ck_assert_int_eq(pos.place, PREP_BANNER_STATIC);
    ck_assert_ptr_null(pos.offset);
    ck_assert_str_eq(prep_banner_place_name(PREP_BANNER_FIXED_BOTTOM),
                     "fixed-bottom");
    ck_assert_str_eq(prep_banner_place_name(PREP_BANNER_STICKY), "sticky");

    /* refused, and the position left as it was; nothing but a plain length
     * can reach the style attribute */
    ck_assert_ptr_null(position(&pos, "sticky 10px"));
    before = pos;
    ck_assert_str_eq(position(&pos, "top"),
                     "use static, sticky, fixed-top or fixed-bottom");
    ck_assert_str_eq(position(&pos, "fixed"),
                     "use static, sticky, fixed-top or fixed-bottom");
    ck_assert_str_eq(position(&pos, "static 10px"), "static takes no offset");
    ck_assert_str_eq(position(&pos, "sticky 10"),
                     "offset \"10\" is not a length like 0, 56px or 3.5rem");
    ck_assert_str_eq(position(&pos, "sticky -10px"),
                     "offset \"-10px\" is not a length like 0, 56px or 3.5rem");
    ck_assert_str_eq(
        position(&pos, "sticky '10px;color:red'"),
        "offset \"10px;color:red\" is not a length like 0, 56px or 3.5rem");
    ck_assert_str_eq(
        position(&pos, "sticky '10px\"'"),
        "offset \"10px\"\" is not a length like 0, 56px or 3.5rem");
    ck_assert_ptr_nonnull(position(&pos, "sticky 10%"));
    ck_assert_ptr_nonnull(position(&pos, "sticky 12345px"));
    ck_assert_ptr_nonnull(position(&pos, "sticky 1.234rem"));
    ck_assert_ptr_nonnull(position(&pos, "sticky .5rem"));
    ck_assert_ptr_nonnull(position(&pos, "sticky 5.rem"));
    ck_assert_ptr_nonnull(position(&pos, "sticky calc(1px)"));
    ck_assert_int_eq(pos.place, before.place);
    ck_assert_str_eq(pos.offset, before.offset);
}
END_TEST

START_TEST(banner_position_is_a_feed_directive)
{
    prep_feed_t f;
    const prep_feed_directive_t *d =
        &prep_feed_directives[PREP_FEED_BANNER_POSITION];
    const char *sticky[] = {"sticky", "56px"}, *bad[] = {"arriba"},
               *three[] = {"sticky", "1px", "2px"};

    prep_feed_defaults(&f, pool);
    /* the default is the static banner of every earlier version */
    ck_assert_int_eq(f.banner_position.place, PREP_BANNER_STATIC);
    ck_assert_ptr_null(f.banner_position.offset);
    ck_assert_str_eq(d->name, "PrepBannerPosition");
    ck_assert_ptr_null(prep_feed_set(&f, d, 2, sticky, pool));
    ck_assert_int_eq(f.banner_position.place, PREP_BANNER_STICKY);
    ck_assert_str_eq(f.banner_position.offset, "56px");
    ck_assert_str_eq(prep_feed_set(&f, d, 1, bad, pool),
                     "PrepBannerPosition: use static, sticky, fixed-top or "
                     "fixed-bottom");
    ck_assert_str_eq(prep_feed_set(&f, d, 3, three, pool),
                     "PrepBannerPosition takes 1-2 arguments");
}
END_TEST

START_TEST(static_banner_position_is_the_banner_as_before)
{
    prep_banner_position_t pos = {PREP_BANNER_STATIC, NULL};
    unsigned state;

    ck_assert_str_eq(prep_banner_render_at(pool, NULL, CORTE, &centro, 0, &pos),
                     DEFAULT_BANNER_2105);
    ck_assert_str_eq(prep_banner_render_at(pool, NULL, CORTE, &centro, 0, NULL),
                     DEFAULT_BANNER_2105);
    for (state = 0; state < 4; state++) {
        ck_assert_str_eq(
            prep_banner_render_at(pool, NULL, CORTE, &centro, state, &pos),
            prep_banner_render(pool, NULL, CORTE, &centro, state));
    }
}
END_TEST

START_TEST(banner_positions_are_inline_styles_above_a_fixed_navbar)
{
    static const struct {
        const char *line, *position, *edge, *edge_value, *other_edge;
    } cases[] = {
        {"sticky", "sticky", "top", "0", "bottom"},
        {"sticky 56px", "sticky", "top", "56px", "bottom"},
        {"fixed-top", "fixed", "top", "0", "bottom"},
        {"fixed-top 4rem", "fixed", "top", "4rem", "bottom"},
        {"fixed-bottom", "fixed", "bottom", "0", "top"},
        {"fixed-bottom 10px", "fixed", "bottom", "10px", "top"},
    };
    const char *label = prep_banner_label(pool, CORTE, &centro);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        prep_banner_position_t pos = {PREP_BANNER_STATIC, NULL};
        const char *html, *z, *font, *tail;

        ck_assert_ptr_null(position(&pos, cases[i].line));
        html = prep_banner_render_at(pool, NULL, CORTE, &centro, 0, &pos);
        /* the same element, id and role, only its style differs */
        ck_assert_msg(!strncmp(html,
                               "<div id=\"prep-corte\" role=\"status\" "
                               "style=\"position:",
                               47),
                      "%s", html);
        tail = apr_pstrcat(pool, "\">", label, "</div>", NULL);
        ck_assert_str_eq(html + strlen(html) - strlen(tail), tail);
        ck_assert_str_eq(style_of(html, "position"), cases[i].position);
        ck_assert_str_eq(style_of(html, cases[i].edge), cases[i].edge_value);
        ck_assert_ptr_null(style_of(html, cases[i].other_edge));
        /* above Bootstrap's fixed-top navbar (z-index 1030) */
        z = style_of(html, "z-index");
        ck_assert_ptr_nonnull(z);
        ck_assert_str_eq(z, PREP_BANNER_Z_INDEX);
        ck_assert(apr_atoi64(z) > 1030 && apr_atoi64(z) <= 2147483647);
        /* a fixed banner spans the window */
        if (!strcmp(cases[i].position, "fixed")) {
            ck_assert_str_eq(style_of(html, "left"), "0");
            ck_assert_str_eq(style_of(html, "right"), "0");
        } else {
            ck_assert_ptr_null(style_of(html, "left"));
        }
        /* legible on a phone: 15px (>= 14px), white on #1d3557, long words
         * broken rather than overflowing, no width that could overflow */
        font = style_of(html, "font");
        ck_assert_str_eq(font, "600 15px/1.4 system-ui,sans-serif");
        ck_assert_str_eq(style_of(html, "color"), "#fff");
        ck_assert_str_eq(style_of(html, "background"), "#1d3557");
        ck_assert_str_eq(style_of(html, "overflow-wrap"), "break-word");
        ck_assert_ptr_null(style_of(html, "width"));
        ck_assert_ptr_null(style_of(html, "white-space"));
        /* self-contained: no class, no stylesheet, no script */
        ck_assert_ptr_null(strstr(html, "class="));
        ck_assert_ptr_null(strstr(html, "<link"));
        ck_assert_ptr_null(strstr(html, "<script"));
    }
}
END_TEST

START_TEST(positioned_banner_keeps_the_state_and_templates_stay_as_written)
{
    prep_banner_position_t pos = {PREP_BANNER_STATIC, NULL};
    const char *both, *label = prep_banner_label(pool, CORTE, &centro);

    ck_assert_ptr_null(position(&pos, "fixed-bottom"));
    both = prep_banner_render_at(
        pool, NULL, CORTE, &centro,
        PREP_BANNER_STATE_DRILL | PREP_BANNER_STATE_CLOSED, &pos);
    ck_assert_ptr_nonnull(
        strstr(both, apr_pstrcat(pool, "\"><strong>SIMULACRO</strong> · ",
                                 label, " · Cierre del PREP</div>", NULL)));
    ck_assert_str_eq(style_of(both, "position"), "fixed");
    /* a template places itself */
    ck_assert_str_eq(
        prep_banner_render_at(pool, "<b>{{hora}}</b>", CORTE, &centro, 0, &pos),
        "<b>21:05</b>");
}
END_TEST

START_TEST(the_banner_phase_places_the_default_banner)
{
    static const char *const paths[] = {"index.html"};
    static const char *const texts[] = {"<html><body>A</body></html>"};
    apr_array_header_t *banners = apr_array_make(pool, 2, sizeof(char *));
    prep_banner_position_t pos = {PREP_BANNER_STATIC, NULL};
    prep_verdict_t v = {NULL, NULL};
    prep_pack_t pack = {NULL, 0};
    prep_unpacked_t *u;
    prep_plan_t *plans;
    const char *want;
    int n;

    ck_assert_ptr_null(position(&pos, "sticky 56px"));
    pack_open(&pack);
    u = pack_files(&pack, paths, texts, 1);
    plans = prep_plans_make(u, 2, &n, pool);
    APR_ARRAY_PUSH(banners, const char *) = NULL;
    APR_ARRAY_PUSH(banners, const char *) = "<i>{{hora}}</i>";
    ck_assert_int_eq(prep_banner_add_reps(&pack, plans, n, banners, CORTE,
                                          &centro, 0, &pos, &v, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(plans[0].nreps, 3);
    want =
        apr_pstrcat(pool, "<html><body>",
                    prep_banner_render_at(pool, NULL, CORTE, &centro, 0, &pos),
                    "A</body></html>", NULL);
    ck_assert_str_eq(rep_bytes(&pack, &plans[0].reps[1]), want);
    ck_assert_ptr_nonnull(strstr(want, "position:sticky;top:56px;z-index:"));
    ck_assert_str_eq(rep_bytes(&pack, &plans[0].reps[2]),
                     "<html><body><i>21:05</i>A</body></html>");
    apr_file_close(pack.file);
}
END_TEST

Suite *suite_banner(void)
{
    Suite *s = suite_create("banner");
    TCase *tc = tcase_create("banner");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, label_names_the_date_time_and_zone_of_the_corte);
    tcase_add_test(tc, default_banner_is_a_div_with_the_label);
    tcase_add_test(tc, banner_position_words_are_read_as_configtest_reads_them);
    tcase_add_test(tc, banner_position_is_a_feed_directive);
    tcase_add_test(tc, static_banner_position_is_the_banner_as_before);
    tcase_add_test(tc, banner_positions_are_inline_styles_above_a_fixed_navbar);
    tcase_add_test(
        tc, positioned_banner_keeps_the_state_and_templates_stay_as_written);
    tcase_add_test(tc, the_banner_phase_places_the_default_banner);
    tcase_add_test(tc, template_placeholders_are_filled_in_the_zone);
    tcase_add_test(tc, template_may_hold_hundreds_of_placeholders);
    tcase_add_test(tc, zone_name_is_escaped_in_templates_and_the_default);
    tcase_add_test(tc, banner_goes_right_after_the_body_tag);
    tcase_add_test(tc, banner_follows_first_body_tag_any_attributes_or_case);
    tcase_add_test(tc, no_body_tag_no_banner);
    tcase_add_test(tc, body_in_comments_and_scripts_is_not_the_body_tag);
    tcase_add_test(tc, body_in_text_or_attribute_values_is_not_the_body_tag);
    tcase_add_test(tc, nul_bytes_in_the_page_are_bytes_like_any_other);
    tcase_add_test(tc, only_len_bytes_of_the_page_are_read);
    tcase_add_test(tc, page_ending_inside_a_tag_is_not_read_past);
    tcase_add_test(tc, banner_is_found_after_a_megabyte_of_head);
    tcase_add_test(tc, the_banner_phase_appends_each_page_with_its_banners);
    tcase_add_test(tc, estado_names_the_drill_and_the_close);
    tcase_add_test(tc, default_banner_without_state_is_the_banner_as_before);
    tcase_add_test(
        tc, default_banner_says_simulacro_before_the_time_and_the_close_after);
    tcase_add_test(tc, estado_placeholder_is_filled_in_templates);
    tcase_add_test(tc, the_banner_phase_renders_the_state_into_each_page);
    suite_add_tcase(s, tc);
    return s;
}
