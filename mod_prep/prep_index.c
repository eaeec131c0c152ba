/* prep_index.c */
typedef int prep_placeholder_t;
