/* cli_plan.c - placeholder until its layer lands; replaced by the owner. */
#include "cli.h"
int cli_plan(int argc, char **argv)
{
    (void)argc; (void)argv;
    cli_error("plan", "not available in this build yet");
    return CLI_USAGE;
}
