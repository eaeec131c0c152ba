/* prep_zone.c */
typedef int prep_placeholder_t;
