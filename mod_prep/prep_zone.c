/* prep_zone.c — the fixed-offset time zone a feed shows its times in
 * (Mexico's zones have no daylight saving time since 2022), and times
 * written in it. */
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "prep.h"

const char *prep_zone_parse(prep_zone_t *z, const char *offset,
                            const char *name, apr_pool_t *p)
{
    const char *c = offset;
    int sign, h = 0, m = 0, digits = 0;

    if (!strncasecmp(c, "UTC", 3) || !strncasecmp(c, "GMT", 3)) {
        c += 3;
        if (!*c) {
            z->offset_s = 0;
            z->name = name;
            return NULL;
        }
    }
    if (*c != '+' && *c != '-') {
        return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
    }
    sign = *c++ == '-' ? -1 : 1;
    while (apr_isdigit(*c) && digits < 2) {
        h = h * 10 + (*c++ - '0');
        digits++;
    }
    if (!digits) {
        return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
    }
    if (*c == ':' || (digits == 2 && apr_isdigit(*c))) {
        c += *c == ':';
        if (!apr_isdigit(c[0]) || !apr_isdigit(c[1])) {
            return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
        }
        m = (c[0] - '0') * 10 + (c[1] - '0');
        c += 2;
    }
    if (*c || h > 14 || m > 59) {
        return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
    }
    z->offset_s = sign * (h * 3600 + m * 60);
    z->name = name;
    return NULL;
}

char *prep_zone_offset_text(apr_pool_t *p, const prep_zone_t *z)
{
    int off = z->offset_s < 0 ? -z->offset_s : z->offset_s;

    return apr_psprintf(p, "%c%02d:%02d", z->offset_s < 0 ? '-' : '+',
                        off / 3600, off % 3600 / 60);
}

char *prep_time_iso(apr_pool_t *p, apr_time_t t, const prep_zone_t *z)
{
    apr_time_exp_t tm;

    apr_time_exp_tz(&tm, t, z->offset_s);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, prep_zone_offset_text(p, z));
}
