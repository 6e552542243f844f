/* model_arg.h — command-line arguments shared by the generate and eval verbs: the model
 * named by `--model DIR|FILE` (optionally with `--config FILE.json`) and checked flag
 * values. Each function dies with a one-line message naming the flag or path on bad input. */
#ifndef XLSTM_CLI_MODEL_ARG_H
#define XLSTM_CLI_MODEL_ARG_H

#include <stdint.h>

#include "xlstm.h"

/* Open the model at `path`: a run directory (its model.safetensors) or a safetensors
 * checkpoint with the config JSON in __metadata__["config"] (ours, or an official
 * state_dict). config_json (may be NULL) names a JSON file holding the official config,
 * which then replaces the checkpoint's own (for a state_dict saved without one). */
xlstm_model *open_model(const char *path, const char *config_json);

/* The value after flag argv[*i] (advancing *i); dies if there is none. */
const char *flag_value(const char *verb, int argc, char **argv, int *i);
/* A whole decimal integer in [min, max]. */
long flag_long(const char *verb, const char *flag, const char *value, long min, long max);
/* A whole unsigned decimal integer (a seed). */
uint64_t flag_u64(const char *verb, const char *flag, const char *value);
/* A finite number. */
double flag_double(const char *verb, const char *flag, const char *value);
/* --threads N: N in [1, 1024] OpenMP threads for what follows (a build without OpenMP
 * refuses N > 1). */
void flag_threads(const char *verb, const char *value);

#endif
