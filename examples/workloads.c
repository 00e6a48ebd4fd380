/* workloads.c - placeholder; the workloads owner replaces it. */
#include "workloads.h"
typedef int spw_placeholder_workloads_;
