/* prep_cortetime.c */
typedef int prep_placeholder_t;
