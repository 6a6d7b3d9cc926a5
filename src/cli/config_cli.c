/*
 * config_cli.c - helpers of the configuration commands (see config_cli.h).
 */
#include "cli/config_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/config_records.h"
#include "store/db_path.h"

mfb_status config_cli_open(const struct cli_args *args, bool create, struct config_db **db,
                           bool *created, struct mfb_error *err)
{
    char path[PATH_MAX];
    mfb_status st = store_db_path(args->db_path, CONFIG_DB_FILE, path, sizeof(path), err);
    if (st != MFB_OK)
        return st;
    return config_db_open(path, create, db, created, err);
}

mfb_status config_cli_set_path(char **field, const char *option, const char *path,
                               struct mfb_error *err)
{
    if (path[0] == '\0') {
        mfb_error_set(err, MFB_ERR_USAGE, "--%s needs a path", option);
        return MFB_ERR_USAGE;
    }
    char cwd[PATH_MAX] = "";
    if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot resolve --%s '%s'", option, path);
    char full[PATH_MAX * 2];
    int n = path[0] == '/' ? snprintf(full, sizeof(full), "%s", path)
                           : snprintf(full, sizeof(full), "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= PATH_MAX) {
        mfb_error_set(err, MFB_ERR_USAGE, "--%s '%s' is too long", option, path);
        return MFB_ERR_USAGE;
    }
    while (n > 1 && full[n - 1] == '/')
        full[--n] = '\0';
    if (strncmp(full, "./", 2) == 0)
        memmove(full, full + 2, strlen(full + 2) + 1);
    return config_str_set(field, full, err);
}

mfb_status config_cli_print_json(json_t *value, struct mfb_error *err)
{
    if (value == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    int rc = json_dumpf(value, stdout, JSON_INDENT(2));
    json_decref(value);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return mfb_error_set(err, MFB_ERR_IO, "cannot write the output");
    return MFB_OK;
}

json_t *config_cli_json_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

const char *config_cli_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
    return buf;
}

json_t *config_cli_json_time(int64_t t)
{
    char buf[64];
    return json_string(config_cli_time(t, buf, sizeof(buf)));
}

void config_cli_table(const char *const *header, size_t columns, const char *const *cells,
                      size_t rows)
{
    size_t width[16] = {0};
    if (columns > 16)
        columns = 16;
    for (size_t c = 0; c < columns; c++) {
        width[c] = strlen(header[c]);
        for (size_t r = 0; r < rows; r++) {
            const char *cell = cells[r * columns + c];
            size_t w = strlen(cell ? cell : "-");
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r <= rows; r++) {
        for (size_t c = 0; c < columns; c++) {
            const char *cell = r == 0 ? header[c] : cells[(r - 1) * columns + c];
            if (cell == NULL)
                cell = "-";
            if (c + 1 == columns)
                printf("%s\n", cell);
            else
                printf("%-*s  ", (int)width[c], cell);
        }
    }
}
