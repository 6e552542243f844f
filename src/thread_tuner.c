/* thread_tuner.c — the team size of generation's steps on a shared machine (thread_tuner.h). */
#include <time.h>

#include "thread_tuner.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* A window is this many seconds of steps, at least one: several medium tokens (2-4 ms each
 * on an idle 2-core machine here), and enough steps of micro (~15 us) that the clock's cost
 * and jitter wash out. */
#define TUNER_WINDOW 0.02
/* A trial runs as many steps as the window before it, and at least this many: on a loaded
 * machine a window can be one step, and one lucky step of a starved team is not a speed. */
#define TUNER_TRIAL_STEPS 3
/* A trial wins when it is this much faster than the window before it: less than the gaps it
 * is there to find (1 against 2 threads: 0.6-0.7x the speed when idle, 2-12x when a busy
 * process shares a core), more than the noise between two windows. */
#define TUNER_MARGIN 0.1
/* A team this much slower than when last compared, for two windows in a row, has met new
 * competition: try one thread fewer at once. */
#define TUNER_DEGRADE 2.0
#define TUNER_SLOW_WINDOWS 2
/* Seconds from a trial to the next: after a lost one, doubled by each loss up to the most,
 * back to the least after a win; and at least what keeps the cost of trying a team again to
 * TUNER_TRIAL_SHARE of the time, the cost being what the lost trial cost, or after a win
 * what the team left behind would cost over a trial's steps. A lost trial stops as soon as
 * it cannot win, but a step of a starved team cannot be cut short: a medium token on 2
 * threads beside one busy process took 40 ms against 4 on one, and on this machine loaded
 * by a dozen processes 0.5-1.4 s against 25 ms. */
#define TUNER_BACKOFF_MIN 0.25
#define TUNER_BACKOFF_MAX 4.0
#define TUNER_TRIAL_SHARE 0.02
#define TUNER_WAIT_MAX 30.0

int thread_tuner_team(thread_tuner *t, int most)
{
    if (t->most != most) *t = (thread_tuner){.most = most, .team = most, .backoff = TUNER_BACKOFF_MIN};
    return t->trial ? t->trial : t->team;
}

static void start_window(thread_tuner *t)
{
    t->steps = 0;
    t->window = 0;
}

#include <stdio.h>
#include <stdlib.h>
/* The wait before the next trial when trying again costs `cost` seconds more than the team */
static double trial_wait(double backoff, double cost)
{
    double w = cost / TUNER_TRIAL_SHARE;
    return w <= backoff ? backoff : w < TUNER_WAIT_MAX ? w : TUNER_WAIT_MAX;
}

static void end_trial(thread_tuner *t, double now, int won)
{
    double mean = t->window / t->steps, cost;
    if (won) {
        cost = (t->base - mean) * t->steps; /* the team left behind, over the trial's steps */
        t->team = t->trial;
        t->base = mean;
        t->base_steps = t->steps;
        t->backoff = TUNER_BACKOFF_MIN;
    } else {
        cost = t->window - t->base * t->steps;
        t->backoff = t->backoff * 2 < TUNER_BACKOFF_MAX ? t->backoff * 2 : TUNER_BACKOFF_MAX;
    }
    t->ref = t->base;
    t->slow = 0;
    t->trial = 0;
    t->next_trial = now + trial_wait(t->backoff, cost);
    start_window(t);
}

static void start_trial(thread_tuner *t, int fewer)
{
    if (t->team == 1) fewer = 0;
    else if (t->team == t->most) fewer = 1;
    t->trial = fewer ? t->team - 1 : t->team + 1;
    start_window(t);
}

void thread_tuner_record(thread_tuner *t, double now, double seconds)
{
    if (t->most < 2) return;
    t->steps++;
    t->window += seconds;
    if (t->trial) {
        int n = t->base_steps > TUNER_TRIAL_STEPS ? t->base_steps : TUNER_TRIAL_STEPS;
        if (t->window >= (1 - TUNER_MARGIN) * t->base * n) end_trial(t, now, 0); /* it cannot win now */
        else if (t->steps >= n) end_trial(t, now, 1);
        return;
    }
    if (t->window < TUNER_WINDOW) return;
    t->base = t->window / t->steps;
    t->base_steps = t->steps;
    start_window(t);
    if (!t->ref) t->ref = t->base;
    t->slow = t->base > TUNER_DEGRADE * t->ref ? t->slow + 1 : 0;
    if (t->team > 1 && t->slow >= TUNER_SLOW_WINDOWS) {
        start_trial(t, 1);
    } else if (now >= t->next_trial) {
        start_trial(t, !t->up);
        t->up = !t->up;
    }
}

#ifdef _OPENMP
static double clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
#endif

void thread_tuner_begin(thread_tuner *t)
{
#ifdef _OPENMP
    int most = omp_get_max_threads();
    if (most < 2) {
        t->most = most;
        return;
    }
    omp_set_num_threads(thread_tuner_team(t, most));
    t->start = clock_now();
#else
    (void)t;
#endif
}

void thread_tuner_end(thread_tuner *t)
{
#ifdef _OPENMP
    if (t->most < 2) return;
    omp_set_num_threads(t->most);
    double now = clock_now();
    thread_tuner_record(t, now, now - t->start);
#else
    (void)t;
#endif
}
