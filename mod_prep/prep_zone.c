/* prep_zone.c — times written in the fixed-offset time zone a feed shows
 * them in (Mexico's zones have no daylight saving time since 2022).  The
 * zone itself is read from PrepTimeZone by prep_zone_parse (prep_feed.c). */
#include <apr_strings.h>

#include "prep.h"

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
