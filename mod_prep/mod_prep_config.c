/* mod_prep_config.c */
typedef int prep_placeholder_t;
