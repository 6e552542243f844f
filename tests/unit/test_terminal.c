/* test_terminal.c — what the CLI does on a terminal, which a shell test cannot see through
 * pipes: the terminal's end of file (one Ctrl-D, after which it can be read again), output
 * meant for a person, progress lines rewritten in place.
 *
 * Without arguments: unit tests of the CLI's terminal output (src/cli/progress.c with a clock
 * of the test's own, src/cli/text_out.c; compiled in here), and a test of the runner. As a
 * helper for the shell tests:
 *   --run [--stderr] INPUT CMD ARGS...
 *       runs CMD with standard input and output (and standard error with --stderr) on a new
 *       pseudo-terminal, types INPUT into it (byte 4 is Ctrl-D: the end of file), and copies
 *       what CMD writes to the terminal to standard output. The terminal echoes nothing and
 *       does not turn "\n" into "\r\n", so the copy is byte for byte what CMD wrote. Exits
 *       with CMD's status, or 124 if it has not ended after RUN_SECONDS (it is then killed:
 *       a command waiting for a second end of file waits forever). */
#define _XOPEN_SOURCE 700 /* posix_openpt and its helpers */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/error_line.c"
#include "cli/progress.c"
#include "cli/text_out.c"
#include "test.h"

#define RUN_SECONDS 60

/* Open a pseudo-terminal: *master, and the terminal side (returned) without echo or output
 * processing, in canonical mode (lines, and Ctrl-D as the end of file). -1 on failure. */
static int open_terminal(int *master)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) return -1;
    const char *name = ptsname(m);
    int s = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    struct termios t;
    if (s < 0 || tcgetattr(s, &t) != 0) return -1;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    t.c_lflag |= ICANON;
    t.c_oflag &= ~(tcflag_t)OPOST;
    if (tcsetattr(s, TCSANOW, &t) != 0) return -1;
    *master = m;
    return s;
}

/* Copy what is readable on the master to out; returns 0 once the terminal side is closed
 * by every process (EIO) or after wait_ms without data, 1 if there was data. */
static int drain(int master, FILE *out, int wait_ms)
{
    struct pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0) return 0;
    char buf[4096];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) return 0;
    fwrite(buf, 1, (size_t)n, out);
    return 1;
}

/* See the top of the file. Returns the exit status for main. */
static int run(const char *input, int with_stderr, char **cmd, FILE *out)
{
    int master, term = open_terminal(&master);
    if (term < 0) {
        perror("test_terminal: pseudo-terminal");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        if (dup2(term, 0) < 0 || dup2(term, 1) < 0 || (with_stderr && dup2(term, 2) < 0)) _exit(127);
        close(term);
        close(master);
        execvp(cmd[0], cmd);
        perror(cmd[0]);
        _exit(127);
    }
    close(term);
    size_t len = strlen(input);
    if (write(master, input, len) != (ssize_t)len) return 2;
    const double deadline = progress_now() + RUN_SECONDS;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (progress_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "test_terminal: %s did not end in %d s\n", cmd[0], RUN_SECONDS);
            return 124;
        }
        drain(master, out, 10);
    }
    while (drain(master, out, 0)) continue;
    close(master);
    fflush(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The runner: the command sees terminals where it should, and one Ctrl-D ends cat. */
static void test_runner(void)
{
    char *tty[] = {"sh", "-c", "test -t 0 && test -t 1 && ! test -t 2", NULL};
    CHECK(run("", 0, tty, stdout) == 0, "stdin and stdout are terminals, stderr is not");
    FILE *f = tmpfile();
    char *cat[] = {"cat", NULL}, got[16] = {0};
    CHECK(f && run("a\tb\n\004", 0, cat, f) == 0, "cat ends at one Ctrl-D");
    if (f) {
        rewind(f);
        CHECK(fread(got, 1, sizeof got - 1, f) == 4 && strcmp(got, "a\tb\n") == 0, "copied '%s'", got);
        fclose(f);
    }
}

/* ---------------------------------------------------------------- progress lines */

static double fake_now;
static double fake_clock(void) { return fake_now; }

/* What f holds (from the start; at most size - 1 bytes), then f emptied. */
static const char *contents(FILE *f, char *buf, size_t size)
{
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    rewind(f);
    if (ftruncate(fileno(f), 0) != 0) buf[0] = 0;
    return buf;
}

/* What a progress meter (on a terminal or not) writes for `batches` of work: the first three
 * batches 0.03 s each, then 1 s each. */
static const char *meter_output(int tty, long batches, char *buf, size_t size)
{
    FILE *f = tmpfile();
    progress_meter p;
    progress_begin(&p, f, tty, "validation", batches);
    p.clock = fake_clock;
    p.start = p.last = fake_now = 0;
    for (long i = 0; i < batches; i++) {
        progress_update(&p, i);
        fake_now += i < 3 ? 0.03 : 1.0;
    }
    progress_end(&p);
    contents(f, buf, size);
    fclose(f);
    return buf;
}

/* In a log: no line in the first PROGRESS_LOG_SECONDS, then one every PROGRESS_LOG_SECONDS. */
static void test_progress_log(void)
{
    char buf[4096];
    meter_output(0, 100, buf, sizeof buf);
    int lines = 0;
    for (const char *c = buf; *c; c++) lines += *c == '\n';
    CHECK(lines == 9, "%d lines in %s", lines, buf);
    const char *first = "validation: 13% (13 of 100 batches, 10s)\n";
    CHECK(strncmp(buf, first, strlen(first)) == 0, "the first line: %s", buf);
    CHECK(!strchr(buf, '\r') && !strchr(buf, '\033'), "no terminal codes in a log");
    CHECK(*meter_output(0, 5, buf, sizeof buf) == 0, "short work, and yet: %s", buf);
}

/* On a terminal: a line at once, rewritten in place at most every PROGRESS_TTY_SECONDS, and
 * cleared at the end. */
static void test_progress_terminal(void)
{
    char buf[8192];
    meter_output(1, 100, buf, sizeof buf);
    int rewrites = 0;
    for (const char *c = buf; (c = strstr(c, "\r\033[K")) != NULL; c++) rewrites++;
    /* batch 0 at once; batches 1 and 2 (0.03 s apart) skipped; 3 at 0.09 s skipped, then
     * batches 4..99 a second apart; and the clearing */
    CHECK(rewrites == 1 + 96 + 1, "%d rewrites", rewrites);
    const char *first = "\r\033[Kvalidation: 0% (0 of 100 batches, 0s)\r\033[Kvalidation: 4% (4 of 100 batches, 1s)";
    CHECK(strncmp(buf, first, strlen(first)) == 0, "begins %.80s", buf);
    CHECK(!strchr(buf, '\n'), "no newline on a terminal");
    CHECK(strcmp(buf + strlen(buf) - 4, "\r\033[K") == 0, "ends with the line cleared");
}

/* ---------------------------------------------------------------- generated text */

/* Write the n bytes in through text_out (tty or not), flushing after each as generate does;
 * *held_max: the most bytes ever held back between writes. Returns what f got. */
static const char *through(const char *in, size_t n, int tty, char *buf, size_t size, size_t *held_max)
{
    FILE *f = tmpfile();
    text_out t;
    text_out_init(&t, f, tty);
    *held_max = 0;
    for (size_t i = 0; i < n; i++) {
        text_out_byte(&t, (unsigned char)in[i]);
        fflush(f);
        size_t held = i + 1 - (size_t)ftell(f);
        if (!tty && held > *held_max) *held_max = held;
    }
    text_out_finish(&t);
    fflush(f);
    contents(f, buf, size);
    fclose(f);
    return buf;
}

#define FFFD "\xef\xbf\xbd"

/* On a terminal: controls other than newline and tab as escapes, invalid UTF-8 as U+FFFD
 * (one for each character cut short or invalid), valid characters as they are, a newline
 * at the end. */
static void test_text_terminal(void)
{
    static const struct {
        const char *in, *shown;
    } cases[] = {
        {"plain\ttext\n", "plain\ttext\n"},                   /* ends with its newline: no other */
        {"no newline", "no newline\n"},
        {"\x1b[2J\r\b\x7f", "\\x1b[2J\\x0d\\x08\\x7f\n"},   /* a terminal's escape, CR, BS, DEL */
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8b", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8b\n"}, /* 2, 3, 4 bytes */
        {"\xc2\x9b\xc2\x85", "\\u009b\\u0085\n"},                /* C1 controls (CSI, NEL) */
        {"a\xff\x80" "b", "a" FFFD FFFD "b\n"},                /* bytes UTF-8 never uses */
        {"\xe2\x82z", FFFD "z\n"},                             /* a character cut short by z */
        {"\xc3\xc3\xa9", FFFD "\xc3\xa9\n"},                    /* cut short by the next one */
        {"\xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80", FFFD " " FFFD " " FFFD "\n"}, /* overlong, surrogate, > U+10FFFF */
        {"end\xf0\x9f", "end" FFFD "\n"},                      /* cut off by the end */
        {"", ""},
    };
    char buf[256];
    size_t held;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        through(cases[i].in, strlen(cases[i].in), 1, buf, sizeof buf, &held);
        CHECK(strcmp(buf, cases[i].shown) == 0, "case %zu: '%s' shown as '%s'", i, cases[i].in, buf);
    }
}

/* Elsewhere: the bytes exactly (NUL, controls, invalid UTF-8 and all), no newline added;
 * a character is held back only until it is complete, never longer. */
static void test_text_exact(void)
{
    char in[300], buf[512];
    for (int i = 0; i < 256; i++) in[i] = (char)i;
    memcpy(in + 256, "\xf0\x9f\x90\x8b \xe2\x82\xac\xf0\x9f", 11);
    size_t held;
    through(in, 267, 0, buf, sizeof buf, &held);
    CHECK(memcmp(buf, in, 267) == 0, "bytes changed");
    CHECK(held == 3, "held back at most %zu bytes (the first 3 of a 4-byte character)", held);
    through("\xf0\x9f\x90", 3, 0, buf, sizeof buf, &held);
    CHECK(memcmp(buf, "\xf0\x9f\x90", 4) == 0, "a character cut off by the end is written as it is");
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--run") == 0) {
        int with_stderr = strcmp(argv[2], "--stderr") == 0;
        if (argc < 4 + with_stderr) return 2;
        return run(argv[2 + with_stderr], with_stderr, argv + 3 + with_stderr, stdout);
    }
    if (argc > 1) {
        fprintf(stderr, "usage: %s [--run [--stderr] INPUT CMD ARGS...]\n", argv[0]);
        return 2;
    }
    RUN(test_text_terminal);
    RUN(test_text_exact);
    RUN(test_progress_log);
    RUN(test_progress_terminal);
    RUN(test_runner);
    TEST_EXIT();
}
