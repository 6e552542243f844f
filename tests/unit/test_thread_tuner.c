/* test_thread_tuner.c — the team size of generation's steps (thread_tuner.h) on simulated
 * machines: the tuner is fed the step times a team would get, on a clock of its own, and
 * its throughput is compared with the best fixed team's. The step times are those measured
 * for a medium token here (docs/performance.md, "On a busy machine"). */
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "test.h"
#include "thread_tuner.h"
#include "xlstm.h"

/* seconds of a step on `team` threads at the clock `now` */
typedef double (*machine)(int team, double now);

/* Steps on a tuner allowing `most` threads for `seconds` of the clock: tokens per second.
 * jitter: each step's time varies by up to this fraction either way. */
static double run(machine step_time, int most, double seconds, double jitter)
{
    thread_tuner t = {0};
    uint64_t rng = 7;
    double now = 0;
    long steps = 0;
    while (now < seconds) {
        int team = thread_tuner_team(&t, most);
        double dt = step_time(team, now) * (1 + jitter * test_urand(&rng));
        now += dt;
        thread_tuner_record(&t, now, dt);
        steps++;
    }
    return steps / now;
}

static double idle2(int team, double now)
{
    (void)now;
    return team == 2 ? 2.5e-3 : 4e-3;
}

/* one busy process on one of the 2 cores: a team of 2 waits at each barrier for its thread
 * that shares a core */
static double busy2(int team, double now)
{
    (void)now;
    return team == 2 ? 40e-3 : 4.2e-3;
}

/* this machine loaded by a dozen processes */
static double loaded2(int team, double now)
{
    (void)now;
    return team == 2 ? 1.0 : 25e-3;
}

/* idle, then a busy process for 20 s, then idle again */
static double comes_and_goes(int team, double now) { return now >= 20 && now < 40 ? busy2(team, now) : idle2(team, now); }

/* 4 cores, one busy: 3 threads are best, 4 wait for the one that shares a core */
static double busy4(int team, double now)
{
    (void)now;
    static const double t[] = {0, 8e-3, 4.2e-3, 3e-3, 40e-3};
    return t[team];
}

static void test_idle_keeps_all_threads(void)
{
    double r = run(idle2, 2, 60, 0), best = 1 / idle2(2, 0);
    CHECK(r >= 0.99 * best, "%.0f tok/s against %.0f on 2 threads", r, best);
    /* steps that vary by +-30% (a shared machine) do not send it to one thread for long */
    double noisy = run(idle2, 2, 60, 0.3);
    CHECK(noisy >= 0.98 * best, "%.0f tok/s with jitter against %.0f on 2 threads", noisy, best);
}

static void test_busy_drops_a_thread(void)
{
    double r = run(busy2, 2, 60, 0), best = 1 / busy2(1, 0);
    CHECK(r >= 0.97 * best, "%.0f tok/s against %.0f on 1 thread", r, best);
    r = run(busy2, 2, 60, 0.3);
    CHECK(r >= 0.97 * best, "%.0f tok/s with jitter against %.0f on 1 thread", r, best);
    /* where a starved step costs a second, trials are rare enough to cost little */
    r = run(loaded2, 2, 300, 0), best = 1 / loaded2(1, 0);
    CHECK(r >= 0.95 * best, "%.1f tok/s against %.1f on 1 thread", r, best);
}

static void test_follows_the_machine(void)
{
    /* the best fixed team of each phase: 20 s on 2, 20 s on 1, 20 s on 2 */
    double oracle = (20 / idle2(2, 0) + 20 / busy2(1, 0) + 20 / idle2(2, 0)) / 60;
    double r = run(comes_and_goes, 2, 60, 0);
    CHECK(r >= 0.95 * oracle, "%.0f tok/s against %.0f with the best team of each phase", r, oracle);
}

static void test_more_cores(void)
{
    double r = run(busy4, 4, 60, 0), best = 1 / busy4(3, 0);
    CHECK(r >= 0.97 * best, "%.0f tok/s against %.0f on 3 threads", r, best);
}

static void test_one_thread_allowed(void)
{
    thread_tuner t = {0};
    CHECK(thread_tuner_team(&t, 1) == 1, "one allowed");
    for (int i = 0; i < 1000; i++) thread_tuner_record(&t, i * 1e-2, 1e-2);
    CHECK(thread_tuner_team(&t, 1) == 1, "still one");
    /* a change of the threads allowed starts afresh, on all of them */
    CHECK(thread_tuner_team(&t, 3) == 3, "three allowed");
}

static void allow_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* A state whose steps change team every step (here through the threads allowed, to which
 * the tuner's team follows) gives the bits of one stepped on all threads: each region
 * computes every output on one thread whole, whatever the team and the scratch's size.
 * Both architectures, wide enough (D 256) that a step's products split over threads. */
static void test_team_changes_keep_bits(void)
{
    static const char *configs[] = {
        "{\"vocab_size\": 256, \"embedding_dim\": 256, \"num_blocks\": 2, \"context_length\": 64, "
        "\"slstm_at\": [1], \"mlstm_block\": {\"mlstm\": {}}, \"slstm_block\": {\"slstm\": {}}}",
        "{\"architecture\": \"xlstm_large\", \"vocab_size\": 256, \"embedding_dim\": 256, \"num_heads\": 4, "
        "\"num_blocks\": 2}",
    };
    int most = 2;
#ifdef _OPENMP
    if (omp_get_max_threads() > most) most = omp_get_max_threads();
#endif
    xlstm_real *a = malloc(256 * sizeof *a), *b = malloc(256 * sizeof *b);
    CHECK(a && b, "out of memory");
    for (int k = 0; a && b && k < 2; k++) {
        xlstm_model *m = NULL;
        xlstm_state *fixed = NULL, *changing = NULL;
        allow_threads(most);
        if (xlstm_model_create_json(&m, configs[k], strlen(configs[k])) != 0 || xlstm_model_init(m, 3) != 0 ||
            xlstm_state_create(m, &fixed) != 0 || xlstm_state_create(m, &changing) != 0) {
            CHECK(0, "config %d: %s", k, xlstm_errmsg());
        } else {
            int same = 1;
            for (int i = 0; i < 40 && same; i++) {
                allow_threads(most);
                CHECK(xlstm_step(m, fixed, i * 7 % 256, a) == 0, "%s", xlstm_errmsg());
                allow_threads(1 + i % most);
                CHECK(xlstm_step(m, changing, i * 7 % 256, b) == 0, "%s", xlstm_errmsg());
                same = memcmp(a, b, 256 * sizeof *a) == 0;
                CHECK(same, "config %d, step %d: logits differ", k, i);
            }
        }
        xlstm_state_free(fixed);
        xlstm_state_free(changing);
        xlstm_model_free(m);
    }
    allow_threads(most);
    free(a);
    free(b);
}

int main(void)
{
    RUN(test_idle_keeps_all_threads);
    RUN(test_busy_drops_a_thread);
    RUN(test_follows_the_machine);
    RUN(test_more_cores);
    RUN(test_one_thread_allowed);
    RUN(test_team_changes_keep_bits);
    TEST_EXIT();
}
