/*
 * fuzz_daemon_api.c - libFuzzer target for the daemon's control API
 * (daemon/api.h): routing, ids and schedule names in paths, the JSON body
 * of POST /v1/jobs, the overview routes, pause/resume, and the event
 * stream's subscriber and its SSE text, driven through
 * daemon_api_begin/body/finish exactly as daemon/http.c drives them,
 * without sockets.
 *
 * Input format (what the seed corpus uses):
 *   METHOD SP PATH LF
 *   BODY (delivered in pieces whose sizes come from the first body byte)
 * The daemon and the checks of every answer are daemon_fixture.h's;
 * requests may queue and cancel entries and pause schedules that later
 * inputs see. The web UI's routes (/v1/ui/...) are the same API: the
 * seeds hold some; fuzz_ui.c drives them behind the UI's gate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct daemon *d = fuzz_daemon(NULL);
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *line_end = memchr(buf, '\n', size);
    char *space = line_end ? memchr(buf, ' ', (size_t)(line_end - buf)) : NULL;
    if (space == NULL) {
        free(buf);
        return 0;
    }
    *line_end = '\0';
    *space = '\0';
    const char *body = line_end + 1;
    fuzz_daemon_request(d, buf, space + 1, body, (size_t)(buf + size - body));
    free(buf);
    return 0;
}
