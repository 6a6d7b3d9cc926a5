/*
 * method.c - parsing, argv construction and checking of stop/start methods
 * (see method.h).
 */
#include "mysql/method.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mysql/command.h"
#include "mysql/connection.h"

#define NAME_MAX_LEN 200

static const char *const shell_builtins[] = {
    "!",       ".",     ":",     "[",      "{",      "(",    "alias", "case",   "cd",
    "command", "eval",  "exec",  "exit",   "export", "for",  "if",    "kill",   "printf",
    "read",    "set",   "sleep", "source", "test",   "true", "false", "ulimit", "umask",
    "unset",   "until", "wait",  "while",  "echo",   NULL,
};

const char *mysql_action_str(enum mysql_action action)
{
    return action == MYSQL_ACTION_STOP ? "stop" : "start";
}

void mysql_method_free(struct mysql_method *method)
{
    if (method == NULL)
        return;
    free(method->name);
    free(method->start_cmd);
    free(method->stop_cmd);
    memset(method, 0, sizeof(*method));
}

const char *mysql_method_str(const struct mysql_method *method, char *buf, size_t len)
{
    switch (method->kind) {
    case MYSQL_METHOD_SYSTEMD:
        snprintf(buf, len, "systemd:%s", method->name);
        break;
    case MYSQL_METHOD_SYSV:
        snprintf(buf, len, "sysv:%s", method->name);
        break;
    case MYSQL_METHOD_SHUTDOWN_SQL:
        snprintf(buf, len, "shutdown-sql");
        break;
    default:
        snprintf(buf, len, "command");
        break;
    }
    return buf;
}

/* Unit and service names: letters, digits and ":_.@-+\" (systemd escapes),
 * no slash, not "." or "..". */
static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const char *p = name; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && strchr(":_.@-+\\", *p) == NULL)
            return false;
    return true;
}

static bool blank(const char *s)
{
    if (s == NULL)
        return true;
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

static mfb_status usage(struct mfb_error *err, const char *hint, const char *fmt, const char *arg)
{
    mfb_error_set(err, MFB_ERR_USAGE, fmt, arg);
    mfb_error_hint(err, "%s", hint);
    return MFB_ERR_USAGE;
}

mfb_status mysql_method_parse(const char *spec, const char *start_cmd, const char *stop_cmd,
                              struct mysql_method *method, struct mfb_error *err)
{
    memset(method, 0, sizeof(*method));
    const char *forms = "use systemd:UNIT, sysv:NAME, shutdown-sql or command";
    if (spec == NULL)
        return usage(err, forms, "%s", "no stop/start method given");
    bool wants_start = false, wants_stop = false;
    if (strncmp(spec, "systemd:", 8) == 0 || strncmp(spec, "sysv:", 5) == 0) {
        bool systemd = strncmp(spec, "systemd:", 8) == 0;
        const char *name = strchr(spec, ':') + 1;
        if (!valid_name(name))
            return usage(err,
                         systemd ? "give the unit's name, as in systemd:mariadb"
                                 : "give the script's name in /etc/init.d, as in sysv:mysql",
                         "invalid %s in the stop/start method",
                         systemd ? "systemd unit name" : "SysV service name");
        method->kind = systemd ? MYSQL_METHOD_SYSTEMD : MYSQL_METHOD_SYSV;
        method->name = strdup(name);
        if (method->name == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    } else if (strcmp(spec, "shutdown-sql") == 0) {
        method->kind = MYSQL_METHOD_SHUTDOWN_SQL;
        wants_start = true;
    } else if (strcmp(spec, "command") == 0) {
        method->kind = MYSQL_METHOD_COMMAND;
        wants_start = wants_stop = true;
    } else {
        return usage(err, forms, "unknown stop/start method '%s'", spec);
    }
    char text[64];
    mysql_method_str(method, text, sizeof(text));
    mfb_status st = MFB_OK;
    if (wants_start && blank(start_cmd))
        st = usage(err, "give the command that starts the server with --start-cmd",
                   "the stop/start method %s needs a start command", text);
    else if (wants_stop && blank(stop_cmd))
        st = usage(err, "give the command that stops the server with --stop-cmd",
                   "the stop/start method %s needs a stop command", text);
    else if (!wants_start && !blank(start_cmd))
        st = usage(err, "leave out --start-cmd, or use --control shutdown-sql or command",
                   "the stop/start method %s does not use a start command", text);
    else if (!wants_stop && !blank(stop_cmd))
        st = usage(err, "leave out --stop-cmd, or use --control command",
                   "the stop/start method %s does not use a stop command", text);
    if (st == MFB_OK && wants_start && (method->start_cmd = strdup(start_cmd)) == NULL)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (st == MFB_OK && wants_stop && (method->stop_cmd = strdup(stop_cmd)) == NULL)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (st != MFB_OK)
        mysql_method_free(method);
    return st;
}

void mysql_method_argv(const struct mysql_method *method, enum mysql_action action,
                       const char *argv[6])
{
    const char *verb = mysql_action_str(action);
    memset(argv, 0, 6 * sizeof(argv[0]));
    switch (method->kind) {
    case MYSQL_METHOD_SYSTEMD:
        argv[0] = "systemctl";
        argv[1] = "--no-ask-password";
        argv[2] = verb;
        argv[3] = method->name;
        break;
    case MYSQL_METHOD_SYSV:
        argv[0] = "service";
        argv[1] = method->name;
        argv[2] = verb;
        break;
    case MYSQL_METHOD_SHUTDOWN_SQL:
    case MYSQL_METHOD_COMMAND:
        if (action == MYSQL_ACTION_STOP && method->kind == MYSQL_METHOD_SHUTDOWN_SQL)
            break; /* the SHUTDOWN statement */
        argv[0] = "/bin/sh";
        argv[1] = "-c";
        argv[2] = action == MYSQL_ACTION_STOP ? method->stop_cmd : method->start_cmd;
        break;
    }
}

static bool executable_file(const char *path)
{
    char found[4096];
    return mysql_command_which(path, found, sizeof(found));
}

static bool in_path(const char *name)
{
    char found[4096];
    return strchr(name, '/') == NULL && mysql_command_which(name, found, sizeof(found));
}

mfb_status mysql_method_check_shell(const char *command, const char *what, struct mfb_error *err)
{
    const char *p = command;
    char word[1024];
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        size_t n = 0;
        while (p[n] != '\0' && !isspace((unsigned char)p[n]))
            n++;
        if (n == 0)
            return mfb_error_set(err, MFB_ERR_USAGE, "the %s is empty", what);
        if (n >= sizeof(word))
            return MFB_OK; /* too odd to judge; running it will tell */
        memcpy(word, p, n);
        word[n] = '\0';
        p += n;
        /* VAR=value prefixes set the environment; the program comes after. */
        const char *eq = strchr(word, '=');
        bool assignment =
            eq != NULL && eq > word && (isalpha((unsigned char)word[0]) || word[0] == '_');
        for (const char *q = word; assignment && q < eq; q++)
            if (!isalnum((unsigned char)*q) && *q != '_')
                assignment = false;
        if (!assignment)
            break;
    }
    if (strpbrk(word, "'\"$`\\(){}<>|;&*?~") != NULL)
        return MFB_OK;
    for (size_t i = 0; shell_builtins[i] != NULL; i++)
        if (strcmp(word, shell_builtins[i]) == 0)
            return MFB_OK;
    char shown[300];
    snprintf(shown, sizeof(shown), "%s", command);
    if (strchr(word, '/') != NULL) {
        if (executable_file(word))
            return MFB_OK;
        struct stat sb;
        mfb_status st;
        if (stat(word, &sb) != 0)
            st = mfb_error_errno(err, errno, MFB_ERR_NOT_FOUND, "the %s '%s' cannot run: '%s'",
                                 what, shown, word);
        else
            st = mfb_error_set(err, MFB_ERR_PERMISSION,
                               "the %s '%s' cannot run: '%s' is not an executable file", what,
                               shown, word);
        mfb_error_hint(err, "correct the path of the program in the %s", what);
        return st;
    }
    if (in_path(word))
        return MFB_OK;
    const char *path = getenv("PATH");
    mfb_error_set(err, MFB_ERR_NOT_FOUND, "the %s '%s' cannot run: '%s' is not found in PATH (%s)",
                  what, shown, word, path != NULL ? path : "");
    mfb_error_hint(err, "give the full path of the program, or install it");
    return MFB_ERR_NOT_FOUND;
}

static mfb_status check_systemd(const struct mysql_method *m, uint64_t timeout_ms,
                                struct mfb_error *err)
{
    const char *argv[] = {"systemctl", "--no-pager", "cat", "--", m->name, NULL};
    struct mysql_command_result res;
    struct mfb_error e = {0};
    mfb_status st = mysql_command_run(argv, "check", timeout_ms, NULL, &res, &e);
    if (st == MFB_OK)
        return MFB_OK;
    if (st == MFB_ERR_NOT_FOUND && res.exit_code == -1) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND,
                      "systemctl is not installed, so the systemd unit '%s' cannot be used",
                      m->name);
        mfb_error_hint(err, "use --control sysv:NAME, shutdown-sql or command");
        return MFB_ERR_NOT_FOUND;
    }
    if (st == MFB_ERR_TIMEOUT)
        return mysql_error_forward(err, &e);
    char lines[400];
    mysql_command_last_lines(res.output, 3, lines, sizeof(lines));
    mfb_error_set(err, MFB_ERR_NOT_FOUND, "systemd unit '%s' is not known: %s", m->name,
                  lines[0] != '\0' ? lines : "systemctl cat found nothing");
    mfb_error_hint(err, "list the server's units with: systemctl list-unit-files | grep -i -e "
                        "mysql -e mariadb");
    return MFB_ERR_NOT_FOUND;
}

static mfb_status check_sysv(const struct mysql_method *m, struct mfb_error *err)
{
    char *script = NULL;
    if (asprintf(&script, "%s/%s", MYSQL_INITD_DIR, m->name) < 0)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status st = MFB_OK;
    if (!executable_file(script)) {
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND,
                           "SysV service '%s' is not known: %s is not an executable script",
                           m->name, script);
        mfb_error_hint(err, "list the services with: ls %s", MYSQL_INITD_DIR);
    } else if (!in_path("service")) {
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND,
                           "the 'service' command is not installed, so the SysV service '%s' "
                           "cannot be used",
                           m->name);
        mfb_error_hint(err, "install it (Debian: apt-get install init-system-helpers), or use "
                            "--control command with --stop-cmd and --start-cmd");
    }
    free(script);
    return st;
}

mfb_status mysql_method_check(const struct mysql_method *method, uint64_t timeout_ms,
                              struct mfb_error *err)
{
    switch (method->kind) {
    case MYSQL_METHOD_SYSTEMD:
        return check_systemd(method, timeout_ms, err);
    case MYSQL_METHOD_SYSV:
        return check_sysv(method, err);
    case MYSQL_METHOD_SHUTDOWN_SQL:
        return mysql_method_check_shell(method->start_cmd, "start command", err);
    default: {
        mfb_status st = mysql_method_check_shell(method->stop_cmd, "stop command", err);
        if (st == MFB_OK)
            st = mysql_method_check_shell(method->start_cmd, "start command", err);
        return st;
    }
    }
}
