/* thread_tuner.h — the team size for a run of like steps (generation's tokens, ~32 parallel
 * regions each) on a machine that other processes share.
 *
 * With as many threads as cores and one more busy process, each region's barrier waits for
 * the thread that shares its core with that process and has been descheduled: medium
 * generation fell to 4-26 tok/s on 2 threads against 51-240 on 1 (docs/performance.md, "On
 * a busy machine"). No setting of the OpenMP runtime fixes that without costing the idle
 * machine (a shorter spin or a passive wait: up to a third). So the tuner measures: it times
 * each step, and now and then runs a short trial of a neighbouring team size (one thread
 * fewer or more); a trial that is clearly faster than the steps just before it becomes the
 * team. Trials that lose come at doubling intervals, so that their cost on a steady
 * machine shrinks towards nothing; a team that turns much slower than when last compared
 * (another process started) gets a trial of one thread fewer at once.
 *
 * The team only sets how many threads the steps' regions start, never what they compute:
 * every product and cell assigns each output to one thread whole, so the output has the
 * same bits at any team size (tests/cli_generate.sh). */
#ifndef XLSTM_THREAD_TUNER_H
#define XLSTM_THREAD_TUNER_H

/* All zero: a tuner that has seen no step. */
typedef struct {
    int most;          /* the threads allowed (omp_get_max_threads() outside the steps) */
    int team;          /* the team of the steps outside trials */
    int trial;         /* the team on trial; 0 when none */
    int up;            /* the next trial goes to one thread more, where both neighbours exist */
    int slow;          /* windows in a row much slower than ref */
    int steps;         /* steps of the current window (of team, or of the trial) */
    double window;     /* their seconds */
    int base_steps;    /* steps of team's last full window ... */
    double base;       /* ... and its seconds per step */
    double ref;        /* seconds per step of team when last compared with a trial */
    double next_trial; /* the clock before which no periodic trial starts */
    double backoff;    /* seconds from a lost trial to the next */
    double start;      /* the clock at the start of the step being run */
} thread_tuner;

/* The team for the next step, of at most `most` threads (a change of most starts afresh). */
int thread_tuner_team(thread_tuner *t, int most);
/* The step on that team took `seconds` and ended at the clock `now` (seconds). */
void thread_tuner_record(thread_tuner *t, double now, double seconds);

/* Around a step: sets the OpenMP team of the step's regions, and restores the caller's after
 * timing it. Nothing without OpenMP or with one thread allowed. */
void thread_tuner_begin(thread_tuner *t);
void thread_tuner_end(thread_tuner *t);

#endif
