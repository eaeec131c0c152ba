/* prep_banner.c */
typedef int prep_placeholder_t;
