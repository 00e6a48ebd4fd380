/* field.c - placeholder; its owner replaces it. */
typedef int spw_placeholder_field_;
