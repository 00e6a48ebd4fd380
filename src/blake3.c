/* blake3.c - placeholder; its owner replaces it. */
typedef int spw_placeholder_blake3_;
