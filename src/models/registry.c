/* registry.c — the architectures of the language-model interface, by the name a config's
 * "architecture" field gives. An architecture adds its line here (arch.h says the rest). */
#include <stdio.h>
#include <string.h>

#include "models/arch.h"
#include "io/json.h"

extern const model_arch xlstm_arch, xlstm_large_arch;

static const model_arch *const ARCHS[] = {
    &xlstm_arch, /* the paper's xLSTM[a:b]; also every config without "architecture" */
    &xlstm_large_arch, /* xLSTM Large, the architecture of xLSTM-7B */
};
#define NARCHS (int)(sizeof ARCHS / sizeof ARCHS[0])

const model_arch *arch_find(const char *name)
{
    for (int i = 0; i < NARCHS; i++)
        if (strcmp(ARCHS[i]->name, name) == 0) return ARCHS[i];
    return NULL;
}

int xlstm_architecture_count(void) { return NARCHS; }

const char *xlstm_architecture_name(int i) { return i >= 0 && i < NARCHS ? ARCHS[i]->name : NULL; }

const char *arch_names(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < NARCHS && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", ARCHS[i]->name);
    return buf;
}

int arch_of_config(const char *json, size_t len, const model_arch **out)
{
    json_value doc;
    if (json_parse(&doc, json, len) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", xlstm_errmsg());
        return xlstm_fail("config: not valid JSON: %s", why);
    }
    const json_value *a = json_get(&doc, "architecture");
    char names[256];
    int rc = 0;
    if (doc.type != JSON_OBJECT)
        rc = xlstm_fail("config: a JSON object is needed, not %s", json_type_name(doc.type));
    else if (!a)
        *out = &xlstm_arch;
    else if (!json_is_cstring(a))
        rc = xlstm_fail("config: \"architecture\" must be a string (one of %s)", arch_names(names, sizeof names));
    else if (!(*out = arch_find(a->str)))
        rc = xlstm_fail("config: \"architecture\" '%s' is not one of %s", a->str, arch_names(names, sizeof names));
    json_free(&doc);
    return rc;
}
