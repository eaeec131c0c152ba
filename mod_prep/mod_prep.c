/* mod_prep.c */
typedef int prep_placeholder_t;
