/* prep_mime.c */
typedef int prep_placeholder_t;
