/* cli_prove.c - placeholder until its layer lands; replaced by the owner. */
#include "cli.h"
int cli_prove(int argc, char **argv)
{
    (void)argc; (void)argv;
    cli_error("prove", "not available in this build yet");
    return CLI_USAGE;
}
int cli_verify(int argc, char **argv)
{
    (void)argc; (void)argv;
    cli_error("verify", "not available in this build yet");
    return CLI_USAGE;
}
