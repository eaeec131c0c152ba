/* prep_status.c */
typedef int prep_placeholder_t;
