/* mod_prep.h */
