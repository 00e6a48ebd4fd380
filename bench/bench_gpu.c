/* bench_gpu.c - placeholder; its owner replaces it. */
#include <stdio.h>
int main(void) { puts("bench_gpu: not written yet"); return 0; }
