/* mod_prep_handler.c */
typedef int prep_placeholder_t;
