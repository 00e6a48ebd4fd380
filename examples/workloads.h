/* workloads.h - example workloads: each builds an AIR, its trace (through
 * producers) and its statement. Placeholder; the workloads owner fills it. */
#ifndef SPW_WORKLOADS_H
#define SPW_WORKLOADS_H
#include "spillway.h"
#endif
