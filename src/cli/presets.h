/* presets.h — named model configurations for `xlstm train --model NAME` (byte vocabulary). */
#ifndef XLSTM_CLI_PRESETS_H
#define XLSTM_CLI_PRESETS_H

#include <stdio.h>

/* The official config JSON of preset `name`, or NULL if there is none by that name. */
const char *preset_json(const char *name);
/* The preset names, comma-separated, for messages and --help. */
const char *preset_names(void);
/* One line per preset (indent, name, description), for --help. */
void preset_print_help(FILE *out, const char *indent);

#endif
