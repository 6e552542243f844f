/* cli.h — the command-line verbs of the `xlstm` program and their shared helpers. */
#ifndef XLSTM_CLI_H
#define XLSTM_CLI_H

#include "xlstm.h"

/* Print "xlstm: <message>" to stderr and exit 1: the CLI's only way to fail. */
_Noreturn void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

int cmd_verify(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
