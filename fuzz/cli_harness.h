/* cli_harness.h — shared by the libFuzzer targets of the command-line parsers, which
 * #include the verb's .c file to reach its static parser. die() is the CLI's only way to
 * fail: here it checks the message is one non-empty line and jumps back into the target
 * instead of ending the process. A fuzz input becomes an argv by splitting at NUL bytes. */
#ifndef XLSTM_FUZZ_CLI_HARNESS_H
#define XLSTM_FUZZ_CLI_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define HARNESS_MAX_ARGS 64

static jmp_buf harness_died;

_Noreturn void die(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    error_line(msg, sizeof msg, fmt, ap); /* what the real die() prints */
    va_end(ap);
    if (msg[0] == 0 || strchr(msg, '\n') != NULL) abort(); /* errors are one line */
    longjmp(harness_died, 1);
}

typedef struct {
    char *text;                     /* the input, NUL-terminated (owned) */
    int argc;
    char *argv[HARNESS_MAX_ARGS + 1];
} harness_args;

/* Copy data[0, size) and split it at NUL bytes into at most HARNESS_MAX_ARGS arguments. */
static void harness_split(harness_args *a, const unsigned char *data, size_t size)
{
    a->text = malloc(size + 1);
    if (!a->text) abort();
    memcpy(a->text, data, size);
    a->text[size] = 0;
    a->argc = 0;
    for (size_t i = 0; i < size && a->argc < HARNESS_MAX_ARGS; i += strlen(a->text + i) + 1)
        a->argv[a->argc++] = a->text + i;
    a->argv[a->argc] = NULL;
}

/* The verbs print --help to stdout: keep the fuzzer's output readable. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout)) abort();
    return 0;
}

#endif
