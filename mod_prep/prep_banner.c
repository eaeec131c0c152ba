/* prep_banner.c — the "Último corte" banner: its label, its HTML (the
 * default or an operator's template), and its insertion right after the
 * opening <body> tag of a page, leaving every other byte as delivered.
 * Rendered once per corte by the loader's banner phase, which appends each
 * page with its banners to the corte's pack; never per request. */
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "prep.h"

typedef struct banner_fields {
    const char *fecha; /* 02/06/2024 */
    const char *hora;  /* 21:05 */
    const char *zona;  /* Tiempo del Centro, UTC-06:00 */
    const char *iso;   /* 2024-06-02T21:05:00-06:00 */
} banner_fields_t;

static void fields(banner_fields_t *f, apr_pool_t *p, apr_time_t corte,
                   const prep_zone_t *z)
{
    apr_time_exp_t tm;

    apr_time_exp_tz(&tm, corte, z->offset_s);
    f->fecha = apr_psprintf(p, "%02d/%02d/%04d", tm.tm_mday, tm.tm_mon + 1,
                            tm.tm_year + 1900);
    f->hora = apr_psprintf(p, "%02d:%02d", tm.tm_hour, tm.tm_min);
    f->zona = apr_psprintf(p, "%s, UTC%s", z->name ? z->name : "",
                           prep_zone_offset_text(p, z));
    f->iso = prep_time_iso(p, corte, z);
}

char *prep_banner_label(apr_pool_t *p, apr_time_t corte, const prep_zone_t *z)
{
    banner_fields_t f;

    fields(&f, p, corte, z);
    return apr_psprintf(p, "Último corte: %s %s (%s)", f.fecha, f.hora, f.zona);
}

static const char *escape_html(apr_pool_t *p, const char *s)
{
    apr_size_t len = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        len += (*c == '&' || *c == '\'')  ? 5
               : (*c == '<' || *c == '>') ? 4
               : *c == '"'                ? 6
                                          : 1;
    }
    o = out = apr_palloc(p, len + 1);
    for (c = s; *c; c++) {
        const char *rep = *c == '&'    ? "&amp;"
                          : *c == '<'  ? "&lt;"
                          : *c == '>'  ? "&gt;"
                          : *c == '"'  ? "&quot;"
                          : *c == '\'' ? "&#39;"
                                       : NULL;
        if (rep) {
            o = stpcpy(o, rep);
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* The default banner is this head, what the state puts before the label,
 * the label, what it puts after, and the tail.  Its look: 15px bold white
 * on #1d3557 (contrast 12.6:1), a block that wraps its words at any width.
 * A banner that is not static has its position first in its style, and
 * breaks a word too long for a narrow screen rather than overflow it. */
#define DEFAULT_BANNER_OPEN "<div id=\"prep-corte\" role=\"status\" style=\""
#define DEFAULT_BANNER_LOOK                                                    \
    "margin:0;padding:6px 12px;background:#1d3557;color:#fff;font:600 "        \
    "15px/1.4 system-ui,sans-serif;text-align:center"
#define DEFAULT_BANNER_HEAD  DEFAULT_BANNER_OPEN DEFAULT_BANNER_LOOK "\">"
#define DEFAULT_BANNER_WRAP  ";overflow-wrap:break-word"
#define DEFAULT_BANNER_LABEL "Último corte: {{fecha}} {{hora}} ({{zona}})"
#define DEFAULT_BANNER_TAIL  "</div>"

#define ESTADO_DRILL  "SIMULACRO"
#define ESTADO_CLOSED "Cierre del PREP"

const char *prep_banner_estado(unsigned state)
{
    int drill = (state & PREP_BANNER_STATE_DRILL) != 0;
    int closed = (state & PREP_BANNER_STATE_CLOSED) != 0;

    return drill && closed ? ESTADO_DRILL " · " ESTADO_CLOSED
           : drill         ? ESTADO_DRILL
           : closed        ? ESTADO_CLOSED
                           : "";
}

static const char *const place_names[] = {"static", "sticky", "fixed-top",
                                          "fixed-bottom"};

const char *prep_banner_place_name(prep_banner_place_e place)
{
    return (unsigned)place < sizeof(place_names) / sizeof(place_names[0])
               ? place_names[place]
               : "static";
}

/* Is word a CSS length we write as given: 0, or 1-4 digits (a point and 1-2
 * more) and px, rem or em?  Nothing else reaches the style attribute. */
static int offset_valid(const char *word)
{
    const char *c = word;
    int digits = 0;

    if (!strcmp(word, "0")) {
        return 1;
    }
    for (; apr_isdigit(*c) && digits < 5; c++) {
        digits++;
    }
    if (digits < 1 || digits > 4) {
        return 0;
    }
    if (*c == '.') {
        for (digits = 0, c++; apr_isdigit(*c) && digits < 3; c++) {
            digits++;
        }
        if (digits < 1 || digits > 2) {
            return 0;
        }
    }
    return !strcasecmp(c, "px") || !strcasecmp(c, "rem") ||
           !strcasecmp(c, "em");
}

const char *prep_banner_position_parse(prep_banner_position_t *pos, int argc,
                                       const char *const *argv, apr_pool_t *p)
{
    prep_banner_place_e place;
    char *offset = NULL, *c;

    for (place = PREP_BANNER_STATIC; place <= PREP_BANNER_FIXED_BOTTOM;
         place++) {
        if (!strcasecmp(argv[0], place_names[place])) {
            break;
        }
    }
    if (place > PREP_BANNER_FIXED_BOTTOM) {
        return "use static, sticky, fixed-top or fixed-bottom";
    }
    if (argc > 1) {
        if (place == PREP_BANNER_STATIC) {
            return "static takes no offset";
        }
        if (!offset_valid(argv[1])) {
            return apr_psprintf(p,
                                "offset \"%s\" is not a length like 0, 56px "
                                "or 3.5rem",
                                argv[1]);
        }
        offset = apr_pstrdup(p, argv[1]);
        for (c = offset; *c; c++) {
            *c = apr_tolower(*c);
        }
    }
    pos->place = place;
    pos->offset = offset;
    return NULL;
}

/* The default banner's head at pos: the static one byte for byte, or the
 * position, its edge and the z-index before the look.  A fixed banner
 * spans the window from left to right. */
static const char *banner_head(apr_pool_t *p, const prep_banner_position_t *pos)
{
    const char *off = pos && pos->offset ? pos->offset : "0";

    switch (pos ? pos->place : PREP_BANNER_STATIC) {
        case PREP_BANNER_STICKY:
            return apr_pstrcat(
                p, DEFAULT_BANNER_OPEN "position:sticky;top:", off,
                ";z-index:" PREP_BANNER_Z_INDEX
                ";" DEFAULT_BANNER_LOOK DEFAULT_BANNER_WRAP "\">",
                NULL);
        case PREP_BANNER_FIXED_TOP:
        case PREP_BANNER_FIXED_BOTTOM:
            return apr_pstrcat(
                p, DEFAULT_BANNER_OPEN "position:fixed;",
                pos->place == PREP_BANNER_FIXED_TOP ? "top:" : "bottom:", off,
                ";left:0;right:0;z-index:" PREP_BANNER_Z_INDEX
                ";" DEFAULT_BANNER_LOOK DEFAULT_BANNER_WRAP "\">",
                NULL);
        default:
            return DEFAULT_BANNER_HEAD;
    }
}

/* The default banner's template for a state: a drill is said before the
 * corte time, so that nobody reads the time before the word; the close
 * comes after it.  State 0 at the static position gives the banner of
 * every earlier version. */
static const char *default_banner(apr_pool_t *p, unsigned state,
                                  const prep_banner_position_t *pos)
{
    return apr_pstrcat(p, banner_head(p, pos),
                       (state & PREP_BANNER_STATE_DRILL)
                           ? "<strong>" ESTADO_DRILL "</strong> · "
                           : "",
                       DEFAULT_BANNER_LABEL,
                       (state & PREP_BANNER_STATE_CLOSED) ? " · " ESTADO_CLOSED
                                                          : "",
                       DEFAULT_BANNER_TAIL, NULL);
}

char *prep_banner_render(apr_pool_t *p, const char *template_text,
                         apr_time_t corte, const prep_zone_t *z, unsigned state)
{
    return prep_banner_render_at(p, template_text, corte, z, state, NULL);
}

char *prep_banner_render_at(apr_pool_t *p, const char *template_text,
                            apr_time_t corte, const prep_zone_t *z,
                            unsigned state, const prep_banner_position_t *pos)
{
    static const char *const names[] = {"{{fecha}}", "{{hora}}", "{{zona}}",
                                        "{{iso}}", "{{estado}}"};
    enum { NAMES = sizeof(names) / sizeof(names[0]) };
    banner_fields_t f;
    const char *values[NAMES], *c;
    /* struct iovec: as many as the template needs */
    apr_array_header_t *parts = apr_array_make(p, 16, sizeof(struct iovec));
    struct iovec *part;
    int i;

    fields(&f, p, corte, z);
    values[0] = escape_html(p, f.fecha);
    values[1] = escape_html(p, f.hora);
    values[2] = escape_html(p, f.zona);
    values[3] = escape_html(p, f.iso);
    values[4] = escape_html(p, prep_banner_estado(state));
    c = template_text ? template_text : default_banner(p, state, pos);
    while (*c) {
        const char *next = strstr(c, "{{");

        if (!next) {
            break;
        }
        for (i = 0; i < NAMES; i++) {
            if (!strncmp(next, names[i], strlen(names[i]))) {
                break;
            }
        }
        /* the text before the placeholder, then its value (an unknown
         * placeholder stays as written) */
        part = apr_array_push(parts);
        part->iov_base = (void *)c;
        part->iov_len = (size_t)(next - c) + (i == NAMES ? 2 : 0);
        if (i < NAMES) {
            part = apr_array_push(parts);
            part->iov_base = (void *)values[i];
            part->iov_len = strlen(values[i]);
            c = next + strlen(names[i]);
        } else {
            c = next + 2;
        }
    }
    part = apr_array_push(parts);
    part->iov_base = (void *)c;
    part->iov_len = strlen(c);
    return apr_pstrcatv(p, (const struct iovec *)parts->elts,
                        (apr_size_t)parts->nelts, NULL);
}

/* Case-insensitive: does s (with `left` bytes) start with word? */
static int starts(const char *s, apr_size_t left, const char *word)
{
    apr_size_t n = strlen(word);

    return left >= n && !strncasecmp(s, word, n);
}

/* The end of "<!-- ... -->" or of a raw-text element, or NULL. */
static const char *skip_to(const char *s, const char *end, const char *close)
{
    apr_size_t n = strlen(close);

    for (; s + n <= end; s++) {
        if (!strncasecmp(s, close, n)) {
            return s + n;
        }
    }
    return NULL;
}

/* The end of a tag whose name starts at c: after its closing '>', not one
 * inside a quoted attribute value (a quote opens one only after '='); NULL
 * when the tag does not end. */
static const char *skip_tag(const char *c, const char *end)
{
    char quote = 0, prev = 0;

    for (; c < end; c++) {
        if (quote) {
            if (*c == quote) {
                quote = 0;
                prev = *c;
            }
        } else if ((*c == '"' || *c == '\'') && prev == '=') {
            quote = *c;
        } else if (*c == '>') {
            return c + 1;
        } else if (!apr_isspace(*c)) {
            prev = *c;
        }
    }
    return NULL;
}

/* Does the tag at lt (with `left` bytes) have the name `name`? */
static int tag_named(const char *lt, apr_size_t left, const char *name)
{
    apr_size_t n = strlen(name);
    /* the byte after the name exists only if left > n + 1 */
    char next = left > n + 1 ? lt[n + 1] : '\0';

    return left > n + 1 && !strncasecmp(lt + 1, name, n) &&
           (next == '>' || apr_isspace(next) || next == '/');
}

char *prep_banner_insert(apr_pool_t *p, const char *html, apr_size_t len,
                         const char *banner, apr_size_t *out_len)
{
    /* elements whose content is text, where "<body>" is not a tag */
    static const char *const raw[][2] = {{"script", "</script"},
                                         {"style", "</style"},
                                         {"title", "</title"},
                                         {"textarea", "</textarea"}};
    const char *s = html, *end = html + len, *tag_end = NULL;
    apr_size_t blen = strlen(banner);
    char *out;

    while (s < end) {
        const char *lt = memchr(s, '<', (apr_size_t)(end - s));
        apr_size_t left, i;

        if (!lt) {
            return NULL;
        }
        left = (apr_size_t)(end - lt);
        if (starts(lt, left, "<!--")) {
            if (!(s = skip_to(lt + 4, end, "-->"))) {
                return NULL;
            }
            continue;
        }
        for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
            if (tag_named(lt, left, raw[i][0])) {
                break;
            }
        }
        if (i < sizeof(raw) / sizeof(raw[0])) {
            if (!(s = skip_to(lt + 1, end, raw[i][1]))) {
                return NULL;
            }
            continue;
        }
        if (tag_named(lt, left, "body")) {
            tag_end = skip_tag(lt + 5, end);
            break;
        }
        if (left > 1 && apr_isalpha(lt[1])) {
            /* another start tag: "<body>" in its attributes is a value */
            if (!(s = skip_tag(lt + 1, end))) {
                return NULL;
            }
            continue;
        }
        s = lt + 1;
    }
    if (!tag_end) {
        return NULL;
    }
    *out_len = len + blen;
    out = apr_palloc(p, *out_len + 1);
    memcpy(out, html, (apr_size_t)(tag_end - html));
    memcpy(out + (tag_end - html), banner, blen);
    memcpy(out + (tag_end - html) + blen, tag_end, (apr_size_t)(end - tag_end));
    out[*out_len] = '\0';
    return out;
}

/* --- the banner phase of a load ------------------------------------ */

/* Appends the page of `plan` with each rendered banner, as the reps of its
 * slots 1..n; a page without <body> gets none (served as delivered). */
static apr_status_t add_page_reps(prep_pack_t *pack, prep_plan_t *plan,
                                  const char *const *rendered, int nbanners,
                                  prep_verdict_t *v, apr_pool_t *p)
{
    const prep_entry_t *e = plan->entry;
    apr_size_t out_len;
    apr_status_t rv;
    char *html;
    int n;

    if ((rv = prep_pack_read(pack, e->offset, (apr_size_t)e->size, &html, p)) !=
        APR_SUCCESS) {
        return prep_refuse(v, p, "io", "cannot read back %s", e->path);
    }
    for (n = 0; n < nbanners; n++) {
        prep_rep_t *rep = &plan->reps[plan->nreps];
        char *doc = prep_banner_insert(p, html, (apr_size_t)e->size,
                                       rendered[n], &out_len);
        if (!doc) {
            break; /* no <body>: served as delivered */
        }
        rep->banner = (apr_uint32_t)(n + 1);
        if ((rv = prep_pack_append(pack, doc, out_len, rep)) != APR_SUCCESS) {
            return prep_refuse(v, p, "io", "cannot write the corte (%s)",
                               apr_psprintf(p, "%pm", &rv));
        }
        plan->nreps++;
    }
    return APR_SUCCESS;
}

apr_status_t prep_banner_add_reps(prep_pack_t *pack, prep_plan_t *plans,
                                  int nplans, const apr_array_header_t *banners,
                                  apr_time_t corte, const prep_zone_t *z,
                                  unsigned state,
                                  const prep_banner_position_t *pos,
                                  prep_verdict_t *v, apr_pool_t *p)
{
    int nbanners = banners ? banners->nelts : 0;
    const char **rendered = apr_pcalloc(p, (nbanners + 1) * sizeof(char *));
    apr_status_t rv;
    int i, n;

    for (n = 0; n < nbanners; n++) {
        rendered[n] = prep_banner_render_at(
            p, APR_ARRAY_IDX(banners, n, const char *), corte, z, state, pos);
    }
    for (i = 0; i < nplans && nbanners; i++) {
        if ((plans[i].flags & PREP_F_HTML) &&
            (rv = add_page_reps(pack, &plans[i], rendered, nbanners, v, p)) !=
                APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}
