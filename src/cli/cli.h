/* cli.h — the command-line verbs of the `xlstm` program and their shared helpers. */
#ifndef XLSTM_CLI_H
#define XLSTM_CLI_H

#include <stdarg.h>
#include <stddef.h>

#include "xlstm.h"

/* Print "xlstm: <message>" to stderr and exit 1: the CLI's only way to fail. */
_Noreturn void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Format fmt/ap into out (size >= 8) as one line: control bytes (a newline in a quoted
 * flag or path) become escapes such as \n and \x1b. */
void error_line(char *out, size_t size, const char *fmt, va_list ap);
/* Write byte c as error_line shows it (at most 4 characters and a NUL: \n, \x1b; other
 * bytes as themselves) to e; returns the number of characters. */
size_t escape_byte(char *e, unsigned char c);

int cmd_verify(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_experiment(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);

#endif
