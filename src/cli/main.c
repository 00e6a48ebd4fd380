/* main.c - `spillway`: dispatches to one subcommand. */
#include "cli.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#endif

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"demo", cli_demo, "prove and verify the example VM with default budgets"},
    {"prove", cli_prove, "prove a workload or an .air file with its trace"},
    {"verify", cli_verify, "verify a proof"},
    {"plan", cli_plan, "print the memory plan for a workload without proving"},
    {"probe", cli_probe, "measure spill-directory and host<->device bandwidth"},
    {"bench", cli_bench, "run the benchmark matrix"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: spillway [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`spillway COMMAND --help` describes a command's options.\n"
               "prove, verify and bench take -q (errors only), -v (info), -vv (debug).\n"
               "Environment: SPW_LOG=error|warn|info|debug sets the log level.\n");
}

static void version(void)
{
    printf("spillway %s\n", spw_version_string());
#ifdef SPW_HAVE_CUDA
    char name[256];
    uint64_t total = 0, free_b = 0;
    if (spw_cuda_device_info(name, sizeof name, &total, &free_b) == SPW_OK)
        printf("CUDA backend: compiled in; device 0: %s, %.1f GiB\n", name,
               (double)total / (1u << 30));
    else
        printf("CUDA backend: compiled in; no usable GPU found\n");
#else
    printf("CUDA backend: not compiled in\n");
#endif
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        version();
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    cli_error(NULL, "unknown command '%s' (see spillway --help)", argv[1]);
    return CLI_USAGE;
}
