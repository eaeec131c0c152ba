/* prep_banner.c — the "Último corte" banner: its label, its HTML (the
 * default or an operator's template), and its insertion right after the
 * opening <body> tag of a page, leaving every other byte as delivered.
 * Rendered once per corte by the loader, never per request. */
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
        len += *c == '&' ? 5 : (*c == '<' || *c == '>') ? 4 : *c == '"' ? 6 : 1;
    }
    o = out = apr_palloc(p, len + 1);
    for (c = s; *c; c++) {
        const char *rep = *c == '&'   ? "&amp;"
                          : *c == '<' ? "&lt;"
                          : *c == '>' ? "&gt;"
                          : *c == '"' ? "&quot;"
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

#define DEFAULT_BANNER                                                         \
    "<div id=\"prep-corte\" role=\"status\" style=\"margin:0;padding:6px "     \
    "12px;background:#1d3557;color:#fff;font:600 15px/1.4 "                    \
    "system-ui,sans-serif;text-align:center\">Último corte: {{fecha}} "       \
    "{{hora}} ({{zona}})</div>"

char *prep_banner_render(apr_pool_t *p, const char *template_text,
                         apr_time_t corte, const prep_zone_t *z)
{
    static const char *const names[] = {"{{fecha}}", "{{hora}}", "{{zona}}",
                                        "{{iso}}"};
    banner_fields_t f;
    const char *values[4], *c;
    struct iovec parts[256];
    int n = 0, i;

    fields(&f, p, corte, z);
    values[0] = escape_html(p, f.fecha);
    values[1] = escape_html(p, f.hora);
    values[2] = escape_html(p, f.zona);
    values[3] = escape_html(p, f.iso);
    c = template_text ? template_text : DEFAULT_BANNER;
    while (*c && n < 254) {
        const char *next = strstr(c, "{{");

        if (!next) {
            break;
        }
        for (i = 0; i < 4; i++) {
            if (!strncmp(next, names[i], strlen(names[i]))) {
                break;
            }
        }
        /* the text before the placeholder, then its value (an unknown
         * placeholder stays as written) */
        parts[n].iov_base = (void *)c;
        parts[n++].iov_len = (size_t)(next - c) + (i == 4 ? 2 : 0);
        if (i < 4) {
            parts[n].iov_base = (void *)values[i];
            parts[n++].iov_len = strlen(values[i]);
            c = next + strlen(names[i]);
        } else {
            c = next + 2;
        }
    }
    parts[n].iov_base = (void *)c;
    parts[n++].iov_len = strlen(c);
    return apr_pstrcatv(p, parts, (apr_size_t)n, NULL);
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

char *prep_banner_insert(apr_pool_t *p, const char *html, apr_size_t len,
                         const char *banner, apr_size_t *out_len)
{
    const char *s = html, *end = html + len, *tag_end = NULL;
    apr_size_t blen = strlen(banner);
    char *out;

    while (s < end) {
        const char *lt = memchr(s, '<', (apr_size_t)(end - s));
        apr_size_t left;

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
        if (starts(lt, left, "<script") || starts(lt, left, "<style")) {
            int script = starts(lt, left, "<script");
            apr_size_t name_len = script ? 7 : 6;
            /* the byte after the name exists only if left > name_len */
            char next = left > name_len ? lt[name_len] : '\0';
            if (next == '>' || apr_isspace(next) || next == '/') {
                if (!(s = skip_to(lt + 1, end,
                                  script ? "</script" : "</style"))) {
                    return NULL;
                }
                continue;
            }
        }
        if (starts(lt, left, "<body") && left > 5 &&
            (lt[5] == '>' || apr_isspace(lt[5]) || lt[5] == '/')) {
            /* the tag's closing '>', not one inside a quoted value */
            const char *c = lt + 5;
            char quote = 0;
            for (; c < end; c++) {
                if (quote) {
                    if (*c == quote) {
                        quote = 0;
                    }
                } else if (*c == '"' || *c == '\'') {
                    quote = *c;
                } else if (*c == '>') {
                    tag_end = c + 1;
                    break;
                }
            }
            break;
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
