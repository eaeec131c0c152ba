/* prep_loader.c */
typedef int prep_placeholder_t;
