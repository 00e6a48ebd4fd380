/* cli_bench.c - placeholder until its layer lands; replaced by the owner. */
#include "cli.h"
int cli_bench(int argc, char **argv)
{
    (void)argc; (void)argv;
    cli_error("bench", "not available in this build yet");
    return CLI_USAGE;
}
