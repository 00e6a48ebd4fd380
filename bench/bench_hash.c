/* bench_hash.c - placeholder; its owner replaces it. */
#include <stdio.h>
int main(void) { puts("bench_hash: not written yet"); return 0; }
