// pin_bench.cu - ways to get G GiB of page-locked host memory, timed
// (docs/PERFORMANCE.md, "Session 4"): one cudaHostRegister after a
// parallel pre-fault, 16 or 64 segments touched and registered by their
// own threads (what spill/pool.c does), register without pre-fault,
// cudaHostAlloc whole or from 16 threads, and the host->device bandwidth
// from segment-registered memory. Not built by make (needs only nvcc):
//   nvcc -O2 -o pin_bench bench/pin_bench.cu -lpthread && ./pin_bench 16
#include <cuda_runtime.h>
#include <sys/mman.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef struct { char *b; size_t len; int reg; int alloc; void *out; } job;
static void *touch(void *a){ job *j=(job*)a; for(size_t o=0;o<j->len;o+=4096) j->b[o]=0;
  if(j->reg){ if(cudaHostRegister(j->b,j->len,cudaHostRegisterPortable)!=cudaSuccess) printf("reg fail\n");}
  return 0;}
static void *halloc(void *a){ job *j=(job*)a; if(cudaHostAlloc(&j->out,j->len,cudaHostAllocPortable)!=cudaSuccess) printf("alloc fail\n"); return 0;}
static char *mm(size_t len){ char *m=(char*)mmap(0,len,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0); madvise(m,len,MADV_HUGEPAGE); return m;}
static void par(char *m,size_t len,int T,int reg){ pthread_t th[64]; job j[64]; size_t seg=len/T;
  for(int i=0;i<T;i++){j[i].b=m+i*seg;j[i].len=seg;j[i].reg=reg;pthread_create(&th[i],0,touch,&j[i]);}
  for(int i=0;i<T;i++)pthread_join(th[i],0);}
int main(int argc,char**argv){ size_t G=argc>1?atoll(argv[1]):16; size_t len=G<<30; cudaFree(0);
  double t0,t1,t2,t3;
  { char *m=mm(len); t0=now(); par(m,len,16,0); t1=now(); cudaHostRegister(m,len,cudaHostRegisterPortable); t2=now();
    cudaHostUnregister(m); t3=now(); munmap(m,len);
    printf("A touch16 %.2fs + register-whole %.2fs = %.2f GB/s; unregister %.2fs\n",t1-t0,t2-t1,len/1e9/(t2-t0),t3-t2);}
  { char *m=mm(len); t0=now(); par(m,len,16,1); t1=now();
    printf("B touch+register 16 segments in parallel %.2fs = %.2f GB/s\n",t1-t0,len/1e9/(t1-t0));
    size_t seg=len/16; t2=now(); for(int i=0;i<16;i++) cudaHostUnregister(m+i*seg); printf("  unregister %.2fs\n",now()-t2); munmap(m,len);}
  { char *m=mm(len); t0=now(); par(m,len,64,1); t1=now();
    printf("B64 touch+register 64 segments, 64 threads %.2fs = %.2f GB/s\n",t1-t0,len/1e9/(t1-t0));
    size_t seg=len/64; for(int i=0;i<64;i++) cudaHostUnregister(m+i*seg); munmap(m,len);}
  { char *m=mm(len); t0=now(); cudaHostRegister(m,len,cudaHostRegisterPortable); t1=now();
    printf("F register untouched %.2fs = %.2f GB/s\n",t1-t0,len/1e9/(t1-t0)); cudaHostUnregister(m); munmap(m,len);}
  { void *p; t0=now(); cudaHostAlloc(&p,len,cudaHostAllocPortable); t1=now(); cudaFreeHost(p); t2=now();
    printf("C cudaHostAlloc whole %.2fs = %.2f GB/s; free %.2fs\n",t1-t0,len/1e9/(t1-t0),t2-t1);}
  { pthread_t th[16]; job j[16]; t0=now(); for(int i=0;i<16;i++){j[i].len=len/16;pthread_create(&th[i],0,halloc,&j[i]);}
    for(int i=0;i<16;i++)pthread_join(th[i],0); t1=now();
    printf("D cudaHostAlloc 16 threads %.2fs = %.2f GB/s\n",t1-t0,len/1e9/(t1-t0)); for(int i=0;i<16;i++) cudaFreeHost(j[i].out);}
  // bandwidth from a segment-registered buffer
  { char *m=mm(len); par(m,len,16,1); void *d; cudaMalloc(&d,1<<30); cudaStream_t s; cudaStreamCreate(&s);
    t0=now(); for(int i=0;i<8;i++) cudaMemcpyAsync(d,m+(size_t)i*(1<<30),1<<30,cudaMemcpyHostToDevice,s); cudaStreamSynchronize(s); t1=now();
    printf("h2d from segment-registered: %.1f GB/s\n",8.0*(1<<30)/1e9/(t1-t0)); }
  return 0; }
