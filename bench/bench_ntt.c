/* bench_ntt.c - placeholder; its owner replaces it. */
#include <stdio.h>
int main(void) { puts("bench_ntt: not written yet"); return 0; }
