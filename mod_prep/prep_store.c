/* prep_store.c */
typedef int prep_placeholder_t;
