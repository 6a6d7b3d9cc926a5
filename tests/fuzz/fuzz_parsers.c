/*
 * fuzz_parsers.c - libFuzzer target for the small parsers that read what a
 * peer sends: protocol names and directories, ids, Content-Digest, Range
 * and the layout pattern expander (which an operator, not a client,
 * writes; cheap to cover here). Checks invariants, not just crashes: a name
 * that passes never holds '/', a Range that is satisfiable lies inside the
 * file, an expanded layout never climbs out of the storage root.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "proto/proto.h"
#include "server/api.h"
#include "server/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char why[128];
    if (proto_name_valid(s, why, sizeof(why))) {
        if (strchr(s, '/') || strchr(s, '\\') || s[0] == '.' || strlen(s) > PROTO_NAME_MAX)
            abort();
    }
    if (proto_directory_valid(s, why, sizeof(why))) {
        if (s[0] == '/' || strstr(s, "//") || strstr(s, "/.") || s[0] == '.')
            abort();
    }
    proto_id_valid(s, 'u');
    uint8_t digest[SHA256_LEN];
    content_digest_parse(s, digest);
    uint64_t start, len, file_size = size * 977u;
    bool ok;
    if (api_parse_range(s, file_size, &start, &len, &ok) && ok) {
        if (len == 0 || start >= file_size || start + len > file_size)
            abort();
    }
    char out[4096];
    struct layout_vars v = {"client", "inst", "a/b", 1795635000};
    if (layout_expand(s, &v, out, sizeof(out), NULL) == MFB_OK) {
        if (out[0] == '/' || strcmp(out, "..") == 0 || strncmp(out, "../", 3) == 0 ||
            strstr(out, "/../") || strstr(out, "//"))
            abort();
    }
    free(s);
    return 0;
}
