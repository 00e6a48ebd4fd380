/* ntt.c - placeholder; its owner replaces it. */
typedef int spw_placeholder_ntt_;
