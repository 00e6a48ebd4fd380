/* cli_probe.c - placeholder until its layer lands; replaced by the owner. */
#include "cli.h"
int cli_probe(int argc, char **argv)
{
    (void)argc; (void)argv;
    cli_error("probe", "not available in this build yet");
    return CLI_USAGE;
}
