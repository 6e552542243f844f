/* data.c — loading text files and directories as byte tokens. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "common.h"

/* Append the bytes of file `path` to *buf. A NUL byte ends the read at once (binary data:
 * /dev/zero would otherwise be read until memory runs out); a file or a growth of *buf
 * beyond the machine's memory is refused before allocating. */
static int append_file(const char *path, uint8_t **buf, size_t *len, size_t *cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return xlstm_fail("%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    int rc = fstat(fileno(f), &st) == 0 ? xlstm_check_fits((double)*len + (double)st.st_size, path) : 0;
    uint8_t chunk[1 << 16];
    size_t got, offset = 0; /* in this file */
    while (rc == 0 && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        const uint8_t *nul = memchr(chunk, 0, got);
        if (nul) {
            rc = xlstm_fail("%s: binary data (a NUL byte at offset %zu); expected text", path, offset + (size_t)(nul - chunk));
            break;
        }
        if (*len + got > *cap) {
            size_t nc = *cap ? *cap : 1 << 20;
            while (nc < *len + got) nc *= 2;
            if ((rc = xlstm_check_fits((double)nc, path)) != 0) break;
            uint8_t *nb = realloc(*buf, nc);
            if (!nb) {
                rc = xlstm_fail("%s: out of memory", path);
                break;
            }
            *buf = nb;
            *cap = nc;
        }
        memcpy(*buf + *len, chunk, got);
        *len += got;
        offset += got;
    }
    if (rc == 0 && ferror(f)) rc = xlstm_fail("%s: read error", path);
    fclose(f);
    return rc;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int append_dir(const char *path, uint8_t **buf, size_t *len, size_t *cap)
{
    DIR *d = opendir(path);
    if (!d) return xlstm_fail("%s: cannot open directory (%s)", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, capn = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == capn) {
            capn = capn ? 2 * capn : 16;
            char **nn = realloc(names, capn * sizeof *nn);
            if (!nn) { rc = xlstm_fail("%s: out of memory", path); break; }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) { rc = xlstm_fail("%s: out of memory", path); break; }
        n++;
    }
    closedir(d);
    if (rc == 0 && n > 0) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char full[PATH_MAX];
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) rc = append_file(full, buf, len, cap);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int text_check(const uint8_t *bytes, size_t n, const char *label)
{
    if (n == 0) return xlstm_fail("%s: no data (empty)", label);
    size_t control = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = bytes[i];
        if (c == 0) return xlstm_fail("%s: binary data (a NUL byte at offset %zu); expected text", label, i);
        control += c < 32 && c != '\t' && c != '\n' && c != '\r' && c != '\f';
    }
    if (control * 100 > n) return xlstm_fail("%s: binary data (%zu control bytes in %zu); expected text", label, control, n);
    return 0;
}

int text_load(const char *path, uint8_t **bytes, size_t *n)
{
    *bytes = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) != 0) return xlstm_fail("%s: %s", path, strerror(errno));
    size_t cap = 0;
    int rc = S_ISDIR(st.st_mode) ? append_dir(path, bytes, n, &cap) : append_file(path, bytes, n, &cap);
    if (rc == 0) rc = text_check(*bytes, *n, path);
    if (rc != 0) {
        free(*bytes);
        *bytes = NULL;
        *n = 0;
    }
    return rc;
}

/* The bundled corpus is validated on its last chapters; other data on its last 5%. */
#define BUNDLED_VAL_MARK "CHAPTER 131."
#define VAL_FRACTION 0.05

static size_t find_text(const uint8_t *b, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(b + i, s, k) == 0) return i;
    return n;
}

size_t text_val_start(const uint8_t *bytes, size_t n, int bundled)
{
    size_t start = bundled ? find_text(bytes, n, BUNDLED_VAL_MARK) : n;
    return start < n ? start : n - (size_t)((double)n * VAL_FRACTION);
}

void text_windows(const uint8_t *bytes, size_t n, xrng *r, int32_t *tokens, int32_t *targets, int B, int T)
{
    const uint64_t starts = (uint64_t)(n - (size_t)T); /* off + T < n */
    for (int b = 0; b < B; b++) {
        const uint8_t *w = bytes + rng_next(r) % starts;
        for (int t = 0; t < T; t++) {
            tokens[(size_t)b * T + t] = w[t];
            targets[(size_t)b * T + t] = w[t + 1];
        }
    }
}

int make_dirs(const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return xlstm_fail("%s: path too long", dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return xlstm_fail("cannot create %s: %s", p, strerror(errno));
        *s = c;
        if (c == 0) return 0;
    }
}

const char *default_corpus_path(void)
{
    static char found[PATH_MAX];
    const char *rel = "data/moby_dick.txt";
    if (access(rel, R_OK) == 0) return rel;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return NULL;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    const char *ups[] = {"", "/..", "/../.."};
    for (int i = 0; i < 3; i++) {
        int w = snprintf(found, sizeof found, "%s%s/%s", exe, ups[i], rel);
        if (w > 0 && (size_t)w < sizeof found && access(found, R_OK) == 0) return found;
    }
    return NULL;
}
