/* cli.h - the spillway command-line tool: one function per subcommand,
 * each in its own file, each returning the process exit status. */
#ifndef SPW_CLI_H
#define SPW_CLI_H

#include "spillway.h"
#include <stdint.h>
#include <stdio.h>

int cli_demo(int argc, char **argv);   /* src/cli/cli_demo.c */
int cli_prove(int argc, char **argv);  /* src/cli/cli_prove.c */
int cli_verify(int argc, char **argv); /* src/cli/cli_prove.c */
int cli_probe(int argc, char **argv);  /* src/cli/cli_probe.c */
int cli_plan(int argc, char **argv);   /* src/cli/cli_plan.c */
int cli_bench(int argc, char **argv);  /* src/cli/cli_bench.c */

/* Parses "123", "64K", "512M", "8G", "1T" (binary units, optional "iB"/"B")
 * into bytes. Returns 0 on success, -1 on malformed text. */
int cli_parse_size(const char *s, uint64_t *out);
/* Parses a decimal unsigned integer in [lo, hi]. Returns 0 or -1. */
int cli_parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Formats bytes as "1.5 GiB" into buf. Returns buf. */
const char *cli_fmt_size(char *buf, size_t len, uint64_t bytes);
/* Prints "spillway CMD: msg" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit statuses of the tool. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#endif
