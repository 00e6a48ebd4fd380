/* cli_demo.c - `spillway demo`. Until the prover lands this is a self-test
 * of the primitives; the protocol layer replaces it with prove + verify of
 * the example VM. */
#include "cli.h"
#include "field.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

int cli_demo(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: spillway demo\n  Proves and verifies the example VM with default budgets.\n");
        return CLI_OK;
    }
    printf("spillway %s demo (primitives self-test)\n", spw_version_string());
    /* w^3 = 2 in the extension, and a^-1 * a = 1 */
    fe3 w = fe3_make(0, 1, 0), w3 = fe3_mul(fe3_mul(w, w), w);
    fe3 a = fe3_make(123456789, 987654321, 555);
    int ok = fe3_eq(w3, fe3_from_base(2)) && fe3_eq(fe3_mul(a, fe3_inv(a)), fe3_one()) &&
             gl_pow(gl_root_of_unity(32), 1ull << 31) == GL_P - 1;
    printf("field: %s\n", ok ? "ok" : "FAILED");
    printf("CUDA: %s\n", spw_cuda_available() ? "GPU available" : "no GPU (CPU backend)");
    return ok ? CLI_OK : CLI_FAIL;
}
