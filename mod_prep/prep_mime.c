/* prep_mime.c — Content-Type by file extension, decided once per corte by
 * the loader (the index stores it), never per request. */
#include <string.h>
#include <strings.h>

#include "prep.h"

typedef struct mime_type {
    const char *ext;
    const char *type;
    int compressible;
} mime_type_t;

static const mime_type_t types[] = {
    {"html", "text/html; charset=utf-8", 1},
    {"htm", "text/html; charset=utf-8", 1},
    {"json", "application/json", 1},
    {"csv", "text/csv; charset=utf-8", 1},
    {"js", "text/javascript; charset=utf-8", 1},
    {"mjs", "text/javascript; charset=utf-8", 1},
    {"css", "text/css; charset=utf-8", 1},
    {"svg", "image/svg+xml", 1},
    {"xml", "application/xml", 1},
    {"txt", "text/plain; charset=utf-8", 1},
    {"map", "application/json", 1},
    {"png", "image/png", 0},
    {"jpg", "image/jpeg", 0},
    {"jpeg", "image/jpeg", 0},
    {"gif", "image/gif", 0},
    {"webp", "image/webp", 0},
    {"ico", "image/x-icon", 0},
    {"woff", "font/woff", 0},
    {"woff2", "font/woff2", 0},
    {"ttf", "font/ttf", 0},
    {"zip", "application/zip", 0},
    {"pdf", "application/pdf", 0},
    {"webmanifest", "application/manifest+json", 0},
    {"xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 0},
};

static const mime_type_t *lookup(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    size_t i;

    if (!dot) {
        return NULL;
    }
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (!strcasecmp(dot + 1, types[i].ext)) {
            return &types[i];
        }
    }
    return NULL;
}

const char *prep_mime_type(const char *path)
{
    const mime_type_t *t = lookup(path);

    return t ? t->type : "application/octet-stream";
}

int prep_mime_compressible(const char *path)
{
    const mime_type_t *t = lookup(path);

    return t && t->compressible;
}

int prep_mime_is_html(const char *path)
{
    const mime_type_t *t = lookup(path);

    return t && !strncmp(t->type, "text/html", 9);
}
