/* prep_util.c */
typedef int prep_placeholder_t;
