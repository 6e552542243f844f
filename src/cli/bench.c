/* bench.c — `xlstm bench`: speed of named configurations. For each: training tokens/s
 * (forward + backward + AdamW), forward tokens/s, generation tokens/s (batch 1, recurrent
 * step after a 64-token prompt), model FLOPs per token, achieved GFLOP/s and that rate as a
 * percentage of this machine's own sgemm rate (measured here with the same BLAS and
 * threads), and peak resident memory; with --busy, generation beside a process that keeps
 * one core busy, with the default threads and with one. Each configuration runs in a child
 * process so that its peak memory is its own. */
#define _GNU_SOURCE 1 /* sched_setaffinity (Linux) beside POSIX */
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "train/optim.h"
#include "common.h"
#include "kernels/matmul.h"

typedef struct {
    const char *name, *about;
    int D, blocks, slstm_at, V, B, T; /* slstm_at < 0: no sLSTM block */
} bench_config;

static const bench_config CONFIGS[] = {
    {"micro", "D=32, 2 blocks, sLSTM at 1 (keeps CI exercising the bench)", 32, 2, 1, 256, 2, 32},
    {"small", "D=256, 4 blocks, sLSTM at 1, 4 heads", 256, 4, 1, 256, 8, 256},
    {"mlstm", "small without sLSTM blocks", 256, 4, -1, 256, 8, 256},
    {"medium", "D=512, 8 blocks, sLSTM at 3, 4 heads", 512, 8, 3, 256, 4, 512},
    {"long", "medium at length 4096", 512, 8, 3, 256, 1, 4096},
};
#define NCONFIGS (int)(sizeof CONFIGS / sizeof *CONFIGS)
#define GEN_PROMPT 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* The configuration as official xLSTMLMModelConfig JSON (the defaults: 4 heads, conv 4). */
static xlstm_model *make_model(const bench_config *b)
{
    char json[512], slstm[160] = "";
    if (b->slstm_at >= 0)
        snprintf(slstm, sizeof slstm, ", \"slstm_at\": [%d], \"slstm_block\": {\"slstm\": {}}", b->slstm_at);
    snprintf(json, sizeof json,
             "{\"vocab_size\": %d, \"embedding_dim\": %d, \"num_blocks\": %d, \"context_length\": %d, "
             "\"mlstm_block\": {\"mlstm\": {}}%s}",
             b->V, b->D, b->blocks, b->T, slstm);
    xlstm_model *m;
    if (xlstm_model_create_json(&m, json, strlen(json)) != 0 || xlstm_model_init(m, 1) != 0)
        die("bench: config %s: %s", b->name, xlstm_errmsg());
    return m;
}

static double bench_seconds = 3; /* each figure is timed for at least this long */

/* ---- the machine's probes: sgemm GFLOP/s and read GB/s, with the same BLAS and threads.
 * They run in a process of their own (its 256 MB read buffer stays out of the
 * configuration's peak memory) that takes turns with the configuration's timing: a slice of
 * probe repetitions before each figure, after every PROBE_EVERY seconds of its windows and
 * after its last. So a figure and the probe it is divided by sample the same minutes of a
 * shared machine, whose speed drifts from minute to minute (sgemm probes of 92-178 GFLOP/s
 * and reads of 22-35 GB/s within an hour here). Each probe keeps its fastest repetition,
 * as each figure keeps its fastest window. */
#define PROBE_SLICE 0.1
#define PROBE_EVERY 0.25

enum { PROBE_SGEMM, PROBE_READ, PROBES };

typedef struct {
    int M;
    real *a, *b, *c; /* sgemm operands [M, M] */
    size_t n;
    float *x;        /* the read probe's array [n] */
} probe_buffers;

static void probe_buffers_init(probe_buffers *p)
{
    p->M = 1024;
    p->n = (size_t)64 << 20; /* 256 MB: eight times this machine's L3 */
    size_t mm = (size_t)p->M * p->M;
    p->a = xlstm_alloc(mm, sizeof(real), "bench"), p->b = xlstm_alloc(mm, sizeof(real), "bench");
    p->c = xlstm_alloc(mm, sizeof(real), "bench");
    /* in the pages the weights get (xlstm_alloc's huge pages: 10% faster than 4 KB ones here) */
    p->x = xlstm_alloc(p->n, sizeof *p->x, "bench");
    if (!p->a || !p->b || !p->c || !p->x) die("bench: %s", xlstm_errmsg());
    for (size_t i = 0; i < mm; i++) p->a[i] = p->b[i] = (real)((i % 7) * 0.1);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < p->n; i++) p->x[i] = 1.0f;
    gemm(0, 0, p->M, p->M, p->M, 1, p->a, p->M, p->b, p->M, 0, p->c, p->M); /* BLAS's first call sets it up */
}

/* one sgemm of 1024^3, GFLOP/s */
static double sgemm_rate(const probe_buffers *p)
{
    int M = p->M;
    double t0 = now();
    gemm(0, 0, M, M, M, 1, p->a, M, p->b, M, 0, p->c, M);
    return 2.0 * M * M * M / (now() - t0) / 1e9;
}

/* one pass summing the array, GB/s (16 independent sums per thread, so that the loop
 * vectorizes and is bound by memory, not by the latency of one add chain) */
static double read_rate(const probe_buffers *p)
{
    double t0 = now(), s = 0;
#pragma omp parallel reduction(+ : s)
    {
        float acc[16] = {0};
#pragma omp for schedule(static)
        for (size_t i = 0; i < p->n; i += 16)
            for (int j = 0; j < 16; j++) acc[j] += p->x[i + j];
        for (int j = 0; j < 16; j++) s += acc[j];
    }
    double r = p->n * sizeof *p->x / (now() - t0) / 1e9;
    return s > 0 ? r : 0; /* s is read, so the loop cannot be dropped */
}

/* The probe process: on each command byte from cmd_fd ('0' + PROBE_SGEMM or PROBE_READ) a
 * slice of that probe's repetitions, then an acknowledging byte; on 'e' the fastest
 * repetition of each probe since the last 'e' (double[PROBES]); on 'q' or end of input it
 * returns. */
static void probe_serve(int cmd_fd, int reply_fd)
{
    probe_buffers p;
    probe_buffers_init(&p);
    double best[PROBES] = {0};
    char c;
    while (read(cmd_fd, &c, 1) == 1 && c != 'q') {
        int ok;
        if (c == 'e') {
            ok = write(reply_fd, best, sizeof best) == (ssize_t)sizeof best;
            best[PROBE_SGEMM] = best[PROBE_READ] = 0;
        } else {
            int k = c - '0';
            double start = now();
            do {
                double r = k == PROBE_SGEMM ? sgemm_rate(&p) : read_rate(&p);
                best[k] = r > best[k] ? r : best[k];
            } while (now() - start < PROBE_SLICE);
            ok = write(reply_fd, "k", 1) == 1;
        }
        if (!ok) break;
    }
}

/* the configuration's end of the probe process's pipes */
static int probe_cmd = -1, probe_reply = -1;

static void probe_slice(int kind)
{
    char c = (char)('0' + kind), ack;
    if (write(probe_cmd, &c, 1) != 1 || read(probe_reply, &ack, 1) != 1) die("bench: machine measurement failed");
}

static void probe_results(double best[PROBES])
{
    const ssize_t size = (ssize_t)(sizeof(double) * PROBES);
    if (write(probe_cmd, "e", 1) != 1 || read(probe_reply, best, (size_t)size) != size)
        die("bench: machine measurement failed");
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Timing on a shared machine: the body runs in windows of at least WINDOW_SECONDS (one
 * call, or as many as take that long) for at least `seconds` in all and at least two windows,
 * after one warm-up call, with slices of the probe `kind` between them (above). The rate is
 * calls per second in the fastest window, what the machine does in its quiet moments: the
 * statistic of the probes, whose repetitions take about as long, so that the percentages
 * compare like with like. The mean over all windows is reported beside it. The probe's
 * fastest repetition over the figure's time goes to (out).machine. */
#define WINDOW_SECONDS 0.01

typedef struct {
    double best, mean; /* calls per second */
    double machine;    /* the probe: sgemm GFLOP/s or read GB/s */
} rate;

#define TIME_WINDOWS(out, seconds, kind, body)                                                                         \
    do {                                                                                                               \
        double w_ = now();                                                                                             \
        body;                                                                                                          \
        w_ = now() - w_;                                                                                               \
        int calls_ = w_ >= WINDOW_SECONDS ? 1 : (int)(WINDOW_SECONDS / (w_ > 1e-7 ? w_ : 1e-7)) + 1, windows_ = 0;    \
        double fastest_ = 1e300, work_ = 0, since_probe_ = 0, probes_[PROBES];                                         \
        probe_results(probes_); /* a reset: only this figure's repetitions count */                                 \
        probe_slice(kind);                                                                                             \
        while (windows_ < 2 || work_ < (seconds)) {                                                                    \
            double s_ = now();                                                                                         \
            for (int c_ = 0; c_ < calls_; c_++) body;                                                                  \
            double dt_ = now() - s_;                                                                                   \
            fastest_ = dt_ < fastest_ ? dt_ : fastest_;                                                                \
            windows_++;                                                                                                \
            work_ += dt_;                                                                                              \
            if ((since_probe_ += dt_) >= PROBE_EVERY) probe_slice(kind), since_probe_ = 0;                             \
        }                                                                                                              \
        if (since_probe_ > 0) probe_slice(kind);                                                                       \
        probe_results(probes_);                                                                                        \
        (out).best = calls_ / fastest_;                                                                                \
        (out).mean = (double)calls_ * windows_ / work_;                                                                \
        (out).machine = probes_[kind];                                                                                 \
    } while (0)

/* ---- --busy: generation while another process keeps one core busy, the case of a user's
 * machine with other work. It is pinned to one core (the last this process may use, Linux)
 * so that the competition is the same one core in every run, as in the measurement
 * (a busy loop on one core), whichever cores the scheduler gives the generation's threads. */
#define BUSY_ROUNDS 3

static pid_t fork_child(void);

static pid_t start_busy(void)
{
    pid_t parent = getpid(), pid = fork_child();
    if (pid != 0) return pid;
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int last = 0;
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) last = c;
        CPU_ZERO(&set);
        CPU_SET(last, &set);
        (void)sched_setaffinity(0, sizeof set, &set);
    }
#endif
    /* until killed, or orphaned (a configuration that dies leaves no busy process behind):
     * the check costs a system call every few milliseconds of spinning */
    while (getppid() == parent)
        for (volatile unsigned long spin = 0; spin < (1ul << 20); spin = spin + 1) {
        }
    _exit(0);
}

/* Generation on `threads` threads for `seconds`: tokens are added to *tokens, the time is
 * returned. */
static double busy_phase(xlstm_model *m, xlstm_state *s, int threads, double seconds, int V, real *logits,
                         long *tokens)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    int32_t next = 1;
    double t0 = now(), t;
    do {
        if (xlstm_step(m, s, next, logits) != 0) die("bench: %s", xlstm_errmsg());
        next = (next * 31 + 7) % V;
        ++*tokens;
    } while ((t = now() - t0) < seconds);
    return t;
}

/* Beside the busy process, BUSY_ROUNDS alternations of generation with the default threads
 * and with one, each on a state made under its own thread count (as `--threads 1` makes it).
 * Rates are tokens over time: under contention a fastest window says nothing of throughput. */
static void busy_generation(const bench_config *b, xlstm_model *m, const int32_t *prompt, real *logits,
                            double seconds)
{
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    xlstm_state *s[2];
    for (int k = 0; k < 2; k++) {
#ifdef _OPENMP
        omp_set_num_threads(k ? 1 : threads);
#endif
        if (xlstm_state_create(m, &s[k]) != 0 || xlstm_prefill(m, s[k], prompt, GEN_PROMPT, NULL) != 0)
            die("bench: %s", xlstm_errmsg());
    }
    pid_t busy = start_busy();
    long tokens[2] = {0, 0};
    double time[2] = {0, 0};
    for (int r = 0; r < BUSY_ROUNDS; r++)
        for (int k = 0; k < 2; k++) time[k] += busy_phase(m, s[k], k ? 1 : threads, seconds, b->V, logits, &tokens[k]);
    kill(busy, SIGKILL);
    waitpid(busy, NULL, 0);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    double rate[2] = {tokens[0] / time[0], tokens[1] / time[1]};
    printf("%-7s busy      %9.0f tok/s with the default %d thread%s, %9.0f with 1: %.0f%%  (generation beside a "
           "process busy on one core; %d alternations of %g s)\n",
           b->name, rate[0], threads, threads == 1 ? "" : "s", rate[1], 100 * rate[0] / rate[1], BUSY_ROUNDS,
           seconds);
    fflush(stdout);
    xlstm_state_free(s[0]);
    xlstm_state_free(s[1]);
}

/* One configuration: training, forward and generation, each against the probe of its own
 * minutes (sgemm GFLOP/s, or for generation read GB/s); with busy, generation beside a busy
 * process. */
static void run_config(const bench_config *b, double seconds, int busy)
{
    xlstm_model *m = make_model(b);
    int N = b->B * b->T;
    int32_t *tok = malloc((size_t)(N + 1) * sizeof *tok);
    if (!tok) die("bench: out of memory");
    for (int i = 0; i <= N; i++) tok[i] = (int32_t)((i * 7919) % b->V);
    adamw opt;
    if (adamw_init(&opt, xlstm_model_num_params(m)) != 0) die("bench: %s", xlstm_errmsg());
    double fwd_flops = xlstm_model_forward_flops(m, b->T);
    float loss;
    rate train, fwd, gen;

    TIME_WINDOWS(train, seconds, PROBE_SGEMM, {
        xlstm_zero_grad(m);
        if (xlstm_forward(m, tok, tok + 1, b->B, b->T, &loss) != 0 || xlstm_backward(m) != 0)
            die("bench: %s", xlstm_errmsg());
        adamw_begin(&opt);
        adamw_update(&opt, xlstm_model_params(m), xlstm_model_grads(m), 0, xlstm_model_num_params(m), 1e-4, 0.1);
    });
    double train_rss = peak_rss_mb();
    TIME_WINDOWS(fwd, seconds, PROBE_SGEMM, {
        if (xlstm_forward(m, tok, NULL, b->B, b->T, NULL) != 0) die("bench: %s", xlstm_errmsg());
    });

    xlstm_state *s;
    real *logits = malloc((size_t)b->V * sizeof *logits);
    if (!logits || xlstm_state_create(m, &s) != 0) die("bench: %s", xlstm_errmsg());
    if (xlstm_prefill(m, s, tok, GEN_PROMPT, logits) != 0) die("bench: %s", xlstm_errmsg());
    int32_t next = 1;
    TIME_WINDOWS(gen, seconds, PROBE_READ, {
        if (xlstm_step(m, s, next, logits) != 0) die("bench: %s", xlstm_errmsg());
        next = (next * 31 + 7) % b->V;
    });
    /* Batch-1 generation reads every weight once per token (the embedding: one row): the
     * issue's bound. Each token also reads and rewrites the whole recurrent state (at medium
     * 7 MB, against 52 MB of weights), so a perfect stream of what a token must move is the
     * second bound, with the writes counted at the read rate. */
    double weight_bytes = (double)xlstm_model_step_weight_bytes(m);
    double state_bytes = (double)xlstm_state_bytes(s);
    double gen_bound = gen.machine * 1e9 / weight_bytes, moved_bound = gen.machine * 1e9 / (weight_bytes + 2 * state_bytes);

    double peak = peak_rss_mb();
    printf("%-7s machine   sgemm %.1f GFLOP/s while training, %.1f in the forward (1024^3, this BLAS and threads); "
           "memory reads %.1f GB/s while generating\n",
           b->name, train.machine, fwd.machine, gen.machine);
    printf("%-7s train     %9.0f tok/s (mean %6.0f)  %7.1f GFLOP/s  %5.1f%% of sgemm  peak RSS %6.0f MB  (%.2f "
           "MFLOP/token, B=%d T=%d)\n",
           b->name, N * train.best, N * train.mean, N * train.best * 3 * fwd_flops / 1e9,
           100 * N * train.best * 3 * fwd_flops / 1e9 / train.machine, train_rss, 3 * fwd_flops / 1e6, b->B, b->T);
    printf("%-7s forward   %9.0f tok/s (mean %6.0f)  %7.1f GFLOP/s  %5.1f%% of sgemm\n", b->name, N * fwd.best,
           N * fwd.mean, N * fwd.best * fwd_flops / 1e9, 100 * N * fwd.best * fwd_flops / 1e9 / fwd.machine);
    printf("%-7s generate  %9.0f tok/s (mean %6.0f)  %7.2f MB of weights/token: bandwidth bound %.0f tok/s (%.0f%%); "
           "with the %.2f MB state read and written: %.0f tok/s (%.0f%%)  peak RSS %6.0f MB\n",
           b->name, gen.best, gen.mean, weight_bytes / 1e6, gen_bound, 100 * gen.best / gen_bound, state_bytes / 1e6,
           moved_bound, 100 * gen.best / moved_bound, peak);
    fflush(stdout);
    if (busy) busy_generation(b, m, tok, logits, seconds);
    xlstm_state_free(s);
    free(logits);
    free(tok);
    adamw_free(&opt);
    xlstm_model_free(m);
}

static pid_t fork_child(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("bench: fork failed");
    return pid;
}

static void child_exit(void)
{
    fflush(stdout);
    _exit(0);
}

static int child_ok(pid_t pid)
{
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int cmd_bench(int argc, char **argv)
{
    int threads = 0, chosen[NCONFIGS] = {0}, any = 0, busy = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: xlstm bench [CONFIG ...] [--seconds S] [--threads N] [--busy]\n\n"
                   "Measures training, forward and generation speed of named configurations (default: all\n"
                   "but micro). Each figure is timed for at least S seconds (default 3).\n"
                   "  --threads N   OpenMP/BLAS threads (default: all cores)\n"
                   "  --busy        then generation while another process keeps one core busy, with the\n"
                   "                default threads (or N) and with 1, alternating %d times S seconds each\n\n"
                   "configurations:\n",
                   BUSY_ROUNDS);
            for (int k = 0; k < NCONFIGS; k++)
                printf("  %-7s %s, batch %d x length %d\n", CONFIGS[k].name, CONFIGS[k].about, CONFIGS[k].B,
                       CONFIGS[k].T);
            return 0;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            bench_seconds = strtod(argv[++i], &end);
            if (*end || !(bench_seconds > 0 && bench_seconds < 3600)) die("bench: --seconds must be in (0, 3600), got '%s'", argv[i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024) die("bench: --threads must be in [1, 1024], got '%s'", argv[i]);
            threads = (int)t;
        } else if (strcmp(argv[i], "--busy") == 0) {
            busy = 1;
        } else if (argv[i][0] == '-') {
            die("bench: unknown flag '%s' (see xlstm bench --help)", argv[i]);
        } else {
            int k = 0;
            while (k < NCONFIGS && strcmp(CONFIGS[k].name, argv[i]) != 0) k++;
            if (k == NCONFIGS) die("bench: unknown configuration '%s' (see xlstm bench --help)", argv[i]);
            chosen[k] = any = 1;
        }
    }
    if (!any)
        for (int k = 1; k < NCONFIGS; k++) chosen[k] = 1;
#ifdef _OPENMP
    if (threads) omp_set_num_threads(threads);
#else
    if (threads > 1) die("bench: --threads %d: this build has no OpenMP", threads);
#endif
    /* Every measurement runs in a child process: each configuration's peak memory is its own,
     * and the parent never starts OpenMP or BLAS threads (a child forked from a process with
     * running thread pools can deadlock). The probe process serves all configurations. */
    int cmd[2], reply[2];
    if (pipe(cmd) != 0) die("bench: pipe failed");
    if (pipe(reply) != 0) die("bench: pipe failed");
    printf("xlstm.c bench: %s\n", xlstm_build_info());
    printf("each figure: its fastest window of %.0f ms or one call, timed for at least %g s (the mean over all "
           "windows in brackets); each probe: its fastest repetition over the same minutes\n",
           WINDOW_SECONDS * 1e3, bench_seconds);
    pid_t prober = fork_child();
    if (prober == 0) {
        close(cmd[1]), close(reply[0]);
        probe_serve(cmd[0], reply[1]);
        child_exit();
    }
    close(cmd[0]), close(reply[1]);
    probe_cmd = cmd[1], probe_reply = reply[0];
    for (int k = 0; k < NCONFIGS; k++) {
        if (!chosen[k]) continue;
        pid_t pid = fork_child();
        if (pid == 0) {
            run_config(&CONFIGS[k], bench_seconds, busy);
            child_exit();
        }
        if (!child_ok(pid)) die("bench: %s failed", CONFIGS[k].name);
    }
    if (write(probe_cmd, "q", 1) != 1 || !child_ok(prober)) die("bench: machine measurement failed");
    close(probe_cmd), close(probe_reply);
    return 0;
}
