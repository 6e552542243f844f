/* error_line.c — the text of the CLI's one-line error messages. A message quotes what the
 * user gave (flags, paths, file contents), which may hold newlines or other control bytes:
 * they are written as escapes so that every error stays one line on a terminal or in a log.
 * A line too long for its buffer keeps its beginning and its end, where a message that
 * quotes a long path says what was wrong, with "..." between. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

size_t escape_byte(char *e, unsigned char c)
{
    if (c == '\n') return (size_t)snprintf(e, 5, "\\n");
    if ((c < 0x20 && c != '\t') || c == 0x7f) return (size_t)snprintf(e, 5, "\\x%02x", c);
    e[0] = (char)c;
    return 1;
}

void error_line(char *out, size_t size, const char *fmt, va_list ap)
{
    char raw[3 * 4096], e[5]; /* raw: room for two paths of PATH_MAX and the words around them */
    vsnprintf(raw, sizeof raw, fmt, ap);
    const size_t len = strlen(raw), room = size - 4; /* room for the kept text beside "..." and the NUL */
    size_t total = 0, cut = len, resume = len; /* raw[cut, resume) is left out */
    for (size_t i = 0; i < len; i++) total += escape_byte(e, (unsigned char)raw[i]);
    if (total >= size) {
        size_t w = 0;
        for (cut = 0; w + escape_byte(e, (unsigned char)raw[cut]) <= room / 2; cut++)
            w += escape_byte(e, (unsigned char)raw[cut]);
        for (; w + escape_byte(e, (unsigned char)raw[resume - 1]) <= room; resume--)
            w += escape_byte(e, (unsigned char)raw[resume - 1]);
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (i == cut) {
            memcpy(out + k, "...", 3);
            k += 3;
            if ((i = resume) == len) break;
        }
        k += escape_byte(out + k, (unsigned char)raw[i]);
    }
    out[k] = 0;
}
