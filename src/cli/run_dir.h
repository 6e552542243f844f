/* run_dir.h — the checkpoint in a training run directory:
 *
 *   model.safetensors      the model (official names, config and "step" in the metadata)
 *   optimizer.safetensors  everything else needed to continue exactly: the AdamW moments
 *                          (F32, exact) and update count, the step, the batch-sampling RNG
 *                          state (4 x I64, bit for bit) and the training options (JSON in
 *                          the metadata)
 *
 * Each file is written atomically (temporary file, fsync, rename), model first. So that a
 * crash between the two renames loses nothing, the previous model is kept as a hard link
 * model.prev.safetensors until the optimizer state has been renamed into place; loading
 * takes whichever model has the optimizer state's step.
 *
 * No single trainer holds the directory (there is no lock): two trainers in one directory
 * would interleave their checkpoints. */
#ifndef XLSTM_CLI_RUN_DIR_H
#define XLSTM_CLI_RUN_DIR_H

#include <stdint.h>

#include "xlstm.h"
#include "rng.h"
#include "train/optim.h"

typedef struct {
    int64_t step;     /* optimizer steps done */
    xrng rng;         /* the batch-sampling RNG after them */
    char *args_json;  /* the training options (malloc'd; NULL when saving takes them as given) */
} run_position;

/* Before a run starts or resumes in dir: remove what interrupted runs left behind. That is
 * the temporary files (see io/atomic.h) of the checkpoint, metrics.csv and loss.svg whose
 * writer is gone (a live process's are kept: it may still be writing), and the model of a
 * first checkpoint that was cut off before its optimizer state (a model.safetensors saved
 * by run_save beside the run's metrics.csv, but no optimizer.safetensors: nothing can
 * resume from it, and it would stop a new run from starting). A dir that does not exist
 * or is not a directory is left to the caller. */
int run_clean(const char *dir);
/* Does dir hold a checkpoint (its optimizer state file)? */
int run_has_checkpoint(const char *dir);
/* Write the checkpoint; on failure (message set) the previous one is intact. */
int run_save(const char *dir, const xlstm_model *m, const adamw *o, const run_position *pos);
/* Read the checkpoint: the model (created here), the optimizer (allocated here) and the
 * position (args_json malloc'd). Any disagreement between the files is refused. */
int run_load(const char *dir, xlstm_model **m, adamw *o, run_position *pos);
/* Which --data the run in dir trained on, as its checkpoint's training options say: 1 and
 * *data (malloc'd; NULL: the bundled corpus, no --data given) if dir holds a readable
 * checkpoint, else 0 (no message: the caller goes on without knowing). */
int run_train_data(const char *dir, char **data);

#endif
