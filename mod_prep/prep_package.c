/* prep_package.c */
typedef int prep_placeholder_t;
