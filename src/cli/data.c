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

/* The sorted names in directory `path`, except "." and ".." (*names and each name malloc'd). */
static int list_dir(const char *path, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return xlstm_fail("%s: cannot open directory (%s)", path, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(*names, cap * sizeof *nn);
            if (!nn) { rc = xlstm_fail("%s: out of memory", path); break; }
            *names = nn;
        }
        if (!((*names)[*n] = strdup(e->d_name))) { rc = xlstm_fail("%s: out of memory", path); break; }
        ++*n;
    }
    closedir(d);
    if (rc == 0 && *n > 0) qsort(*names, *n, sizeof **names, cmp_names);
    return rc;
}

/* Note file `rel` (its path below the directory given) as read. */
static void note_file(text_source *src, const char *rel)
{
    size_t used = strlen(src->names);
    int w = snprintf(src->names + used, sizeof src->names - used, "%s%s", used ? ", " : "", rel);
    if (src->named == src->files && w >= 0 && (size_t)w < sizeof src->names - used) src->named++;
    else src->names[used] = 0; /* it did not fit: the names stay those of the first files */
    src->files++;
    snprintf(src->last, sizeof src->last, "%s", rel);
}

/* Directories nested deeper are refused: a symbolic link to a directory above would
 * otherwise be followed forever. */
#define MAX_DIR_DEPTH 32

/* Append every file in directory `path` and its subdirectories (recursively, in name order;
 * rel: its path below the directory given, "" at the top), leaving out the entries that are
 * hidden (a name beginning with '.') or neither files nor directories. */
static int append_dir(const char *path, const char *rel, int depth, text_source *src, uint8_t **buf, size_t *len,
                      size_t *cap)
{
    if (depth > MAX_DIR_DEPTH)
        return xlstm_fail("%s: directories nested more than %d deep (a symbolic link loop?)", path, MAX_DIR_DEPTH);
    char **names;
    size_t n;
    int rc = list_dir(path, &names, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char full[PATH_MAX], sub[PATH_MAX];
        struct stat st;
        int w = snprintf(full, sizeof full, "%s/%s", path, names[i]);
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        if (w < 0 || (size_t)w >= sizeof full) rc = xlstm_fail("%s/%s: path too long", path, names[i]);
        else if (names[i][0] == '.') src->hidden++;
        else if (stat(full, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) src->other++;
        else if (S_ISDIR(st.st_mode)) rc = append_dir(full, sub, depth + 1, src, buf, len, cap);
        else if ((rc = append_file(full, buf, len, cap)) == 0) note_file(src, sub);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int text_vocab_check(int vocab_size)
{
    if (vocab_size == TEXT_VOCAB) return 0;
    return xlstm_fail("the model's vocab_size %d differs from the data's vocabulary %d (bytes: 256)", vocab_size,
                      TEXT_VOCAB);
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

/* What a directory's reading left out: "left out: 2 hidden, 1 neither file nor directory",
 * or "" when nothing. */
static void left_out(char *buf, size_t size, const text_source *src)
{
    int w = 0;
    buf[0] = 0;
    if (src->hidden) w = snprintf(buf, size, "left out: %zu hidden", src->hidden);
    if (src->other && w >= 0 && (size_t)w < size)
        snprintf(buf + w, size - (size_t)w, "%s%zu neither file nor directory", w ? ", " : "left out: ", src->other);
}

int text_load_source(const char *path, uint8_t **bytes, size_t *n, text_source *src)
{
    text_source unused;
    if (!src) src = &unused;
    memset(src, 0, sizeof *src);
    *bytes = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) != 0) return xlstm_fail("%s: %s", path, strerror(errno));
    size_t cap = 0;
    int rc;
    if ((src->is_dir = S_ISDIR(st.st_mode)) != 0) {
        rc = append_dir(path, "", 0, src, bytes, n, &cap);
        if (rc == 0 && *n == 0) {
            char skipped[96];
            left_out(skipped, sizeof skipped, src);
            rc = xlstm_fail("%s: no data (no file in it or its subdirectories holds any%s%s)", path, *skipped ? "; " : "",
                            skipped);
        }
    } else if ((rc = append_file(path, bytes, n, &cap)) == 0) {
        note_file(src, path);
    }
    if (rc == 0) rc = text_check(*bytes, *n, path);
    if (rc != 0) {
        free(*bytes);
        *bytes = NULL;
        *n = 0;
    }
    return rc;
}

int text_load(const char *path, uint8_t **bytes, size_t *n) { return text_load_source(path, bytes, n, NULL); }

void text_source_describe(char *buf, size_t size, const char *path, const text_source *src, size_t n)
{
    if (!src->is_dir) {
        snprintf(buf, size, "%s: %zu bytes", path, n);
        return;
    }
    char skipped[96];
    left_out(skipped, sizeof skipped, src);
    const char *gap = src->named == src->files ? "" : src->named ? ", ..., " : "..., ";
    snprintf(buf, size, "%s: %zu bytes in %zu file%s (%s%s%s%s%s)", path, n, src->files, src->files == 1 ? "" : "s",
             src->names, gap, *gap ? src->last : "", *skipped ? "; " : "", skipped);
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

const char *text_val_rule(const uint8_t *bytes, size_t n, size_t start)
{
    const size_t k = strlen(BUNDLED_VAL_MARK);
    return start + k <= n && memcmp(bytes + start, BUNDLED_VAL_MARK, k) == 0 ? "chapters 131 to the end" : "the last 5%";
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
