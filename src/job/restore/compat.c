/*
 * compat.c - flavour and release checks before a restore (see compat.h).
 */
#include "job/restore/compat.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mysql/command.h"

static const char *flavour_name(enum mysql_flavour f)
{
    return f == MYSQL_FLAVOUR_MARIADB ? "MariaDB" : "MySQL";
}

const char *compat_describe(const struct server_identity *id, char *buf, size_t len)
{
    snprintf(buf, len, "%s %u.%u.%u", flavour_name(id->flavour), id->major, id->minor, id->patch);
    return buf;
}

bool compat_parse_version(const char *version, struct server_identity *id)
{
    memset(id, 0, sizeof(*id));
    if (version == NULL || !isdigit((unsigned char)version[0]))
        return false;
    const char *dot = strchr(version, '.');
    if (dot == NULL || !isdigit((unsigned char)dot[1]))
        return false;
    mysql_version_parse(version, &id->major, &id->minor, &id->patch);
    id->flavour =
        strcasestr(version, "mariadb") != NULL ? MYSQL_FLAVOUR_MARIADB : MYSQL_FLAVOUR_MYSQL;
    snprintf(id->version, sizeof(id->version), "%s", version);
    return true;
}

mfb_status compat_from_metadata(const json_t *metadata, struct server_identity *id,
                                struct mfb_error *err)
{
    memset(id, 0, sizeof(*id));
    const char *flavour = json_string_value(json_object_get(metadata, "flavour"));
    const char *version = json_string_value(json_object_get(metadata, "version"));
    if (flavour == NULL || version == NULL || !compat_parse_version(version, id))
        return mfb_error_set(err, MFB_ERR_NOT_FOUND,
                             "the backup's manifest does not record the server's flavour and "
                             "version");
    if (strcmp(flavour, "mariadb") == 0)
        id->flavour = MYSQL_FLAVOUR_MARIADB;
    else if (strcmp(flavour, "mysql") == 0)
        id->flavour = MYSQL_FLAVOUR_MYSQL;
    else
        return mfb_error_set(err, MFB_ERR_INVALID,
                             "the backup's manifest names an unknown server flavour '%s'", flavour);
    return MFB_OK;
}

bool compat_parse_version_output(const char *output, struct server_identity *id)
{
    /* the word after "Ver" */
    const char *p = output;
    while ((p = strstr(p, "Ver")) != NULL) {
        bool word_start = p == output || isspace((unsigned char)p[-1]);
        p += 3;
        if (!word_start || !isspace((unsigned char)*p))
            continue;
        while (isspace((unsigned char)*p))
            p++;
        char word[128];
        size_t n = 0;
        while (p[n] != '\0' && !isspace((unsigned char)p[n]) && n + 1 < sizeof(word))
            n++;
        memcpy(word, p, n);
        word[n] = '\0';
        if (!compat_parse_version(word, id))
            return false;
        /* MySQL's binary says "mysqld  Ver 8.0.36 for Linux ... (MySQL Community Server)";
         * MariaDB's own mysqld symlink says "-MariaDB" in the version word. */
        if (strcasestr(output, "mariadb") != NULL)
            id->flavour = MYSQL_FLAVOUR_MARIADB;
        return true;
    }
    return false;
}

mfb_status compat_installed(uint64_t timeout_ms, struct server_identity *id, struct mfb_error *err)
{
    static const char *const binaries[] = {"mariadbd", "mysqld"};
    char path[4096];
    for (size_t i = 0; i < sizeof(binaries) / sizeof(binaries[0]); i++) {
        if (!mysql_command_which(binaries[i], path, sizeof(path)))
            continue;
        const char *argv[] = {path, "--version", NULL};
        struct mysql_command_result res;
        struct mfb_error local = {0};
        if (mysql_command_run(argv, "server version command", timeout_ms, NULL, &res, &local) !=
            MFB_OK)
            return mysql_error_forward(err, &local);
        if (!compat_parse_version_output(res.output, id))
            return mfb_error_set(err, MFB_ERR_PROTOCOL,
                                 "cannot read a version in the output of '%s --version'", path);
        return MFB_OK;
    }
    mfb_error_set(err, MFB_ERR_NOT_FOUND,
                  "cannot tell the installed server's version: the instance is down and neither "
                  "mariadbd nor mysqld is in PATH");
    mfb_error_hint(err, "start the server so mfb can ask it, or pass --force to skip the check");
    return MFB_ERR_NOT_FOUND;
}

mfb_status compat_check(const struct server_identity *backup, const struct server_identity *server,
                        const char *instance, struct mfb_error *err)
{
    char b[160], s[160];
    compat_describe(backup, b, sizeof(b));
    compat_describe(server, s, sizeof(s));
    if (backup->flavour != server->flavour) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                      "the backup was made by %s and the server of instance '%s' is %s: a "
                      "%s data directory cannot be restored under %s",
                      b, instance, s, flavour_name(backup->flavour), flavour_name(server->flavour));
        mfb_error_hint(err, "restore it into a scratch directory with --to DIR and migrate with a "
                            "logical dump, or pass --force if you know better");
        return MFB_ERR_UNSUPPORTED;
    }
    if (backup->major > server->major ||
        (backup->major == server->major && backup->minor > server->minor)) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                      "the backup was made by %s, a newer release than the server of instance "
                      "'%s' (%s): a server cannot read the files of a newer release",
                      b, instance, s);
        mfb_error_hint(err,
                       "upgrade the server to %u.%u or later first, or restore with --to DIR, "
                       "or pass --force if you know better",
                       backup->major, backup->minor);
        return MFB_ERR_UNSUPPORTED;
    }
    return MFB_OK;
}
