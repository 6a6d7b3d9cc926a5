/*
 * scratch.c - the throwaway server of a restore drill and its scratch
 * directory (see scratch.h).
 *
 * fork and exec by hand, as mysql/command.c does, because the child needs
 * PR_SET_PDEATHSIG and its own session before exec; between the two only
 * async-signal-safe calls are made.
 */
#include "job/drill/scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "mysql/command.h"
#include "mysql/connection.h"

#define MARKER ".mfb-drill"
#define SOCKET_DIR_NOTE "socket-dir" /* names the /tmp directory of the socket */
#define POLL_MS 200

static void paths(struct scratch *s, const char *dir)
{
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(s->files, sizeof(s->files), "%.*s/files", PATH_MAX - 16, dir);
    snprintf(s->datadir, sizeof(s->datadir), "%.*s/files/datadir", PATH_MAX - 32, dir);
    snprintf(s->cnf, sizeof(s->cnf), "%.*s/my.cnf", PATH_MAX - 16, dir);
    snprintf(s->error_log, sizeof(s->error_log), "%.*s/error.log", PATH_MAX - 16, dir);
    snprintf(s->pid_file, sizeof(s->pid_file), "%.*s/server.pid", PATH_MAX - 16, dir);
}

/* Does /proc/PID/cmdline mention dir? Only such a process is ours to kill. */
static bool process_names(pid_t pid, const char *dir)
{
    char path[64], buf[8192];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return strstr(buf, dir) != NULL;
}

/* A server a killed drill left running (PR_SET_PDEATHSIG normally takes
 * it along; a server that double-forked would not be). */
static void kill_leftover(const struct scratch *s)
{
    char *text = NULL;
    size_t len = 0;
    struct mfb_error e = {0};
    if (fs_read_file(s->pid_file, 64, &text, &len, &e) != MFB_OK)
        return;
    long pid = strtol(text, NULL, 10);
    free(text);
    if (pid <= 1 || !process_names((pid_t)pid, s->dir))
        return;
    log_warn("drill", "scratch=%s leftover_server_pid=%ld action=kill", LOG_Q(s->dir), pid);
    kill((pid_t)pid, SIGKILL);
    for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++)
        clock_sleep_ms(50, NULL);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    if (rc != 0 && errno != ENOENT)
        log_warn("drill", "path=%s error=%s", LOG_Q(path), LOG_Q(strerror(errno)));
    return 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/* The socket's private directory in /tmp, as an earlier drill noted it. */
static void remove_noted_socket_dir(const char *dir)
{
    char note[PATH_MAX], *text = NULL;
    size_t len = 0;
    struct mfb_error e = {0};
    snprintf(note, sizeof(note), "%.*s/" SOCKET_DIR_NOTE, PATH_MAX - 16, dir);
    if (fs_read_file(note, PATH_MAX, &text, &len, &e) != MFB_OK)
        return;
    if (strncmp(text, "/tmp/mfb-drill-", 15) == 0 && strchr(text + 15, '/') == NULL)
        remove_tree(text);
    free(text);
}

static bool dir_is_empty(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return false;
    }
    bool empty = true;
    struct dirent *de;
    while (empty && (de = readdir(d)) != NULL)
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    return empty;
}

mfb_status scratch_prepare(struct scratch *s, const char *dir, struct mfb_error *err)
{
    memset(s, 0, sizeof(*s));
    if (strlen(dir) > PATH_MAX - 64)
        return mfb_error_set(err, MFB_ERR_USAGE, "scratch directory path too long: '%s'", dir);
    paths(s, dir);
    struct stat sb;
    if (lstat(dir, &sb) == 0) {
        char marker[PATH_MAX];
        snprintf(marker, sizeof(marker), "%.*s/" MARKER, PATH_MAX - 16, dir);
        if (!S_ISDIR(sb.st_mode)) {
            mfb_error_set(err, MFB_ERR_EXISTS, "scratch '%s' exists and is not a directory", dir);
            mfb_error_hint(err, "give another one with --scratch DIR");
            return MFB_ERR_EXISTS;
        }
        if (access(marker, F_OK) == 0) {
            kill_leftover(s);
            remove_noted_socket_dir(dir);
            remove_tree(dir);
            log_info("drill", "scratch=%s removed=leftover", LOG_Q(dir));
        } else if (!dir_is_empty(dir)) {
            mfb_error_set(err, MFB_ERR_EXISTS,
                          "scratch directory '%s' is not empty and was not made by a drill", dir);
            mfb_error_hint(err, "give a new or empty directory with --scratch DIR; mfb never "
                                "removes files it did not make");
            return MFB_ERR_EXISTS;
        } else {
            rmdir(dir);
        }
    }
    mfb_status st = fs_mkdir_p(dir, 0700, err);
    if (st != MFB_OK)
        return st;
    s->made = true;
    char marker[PATH_MAX];
    snprintf(marker, sizeof(marker), "%.*s/" MARKER, PATH_MAX - 16, dir);
    static const char note[] = "a restore drill's scratch directory (docs/drill.md); the next "
                               "drill of the instance removes it\n";
    st = fs_write_file_atomic(marker, note, sizeof(note) - 1, 0600, false, err);
    if (st != MFB_OK)
        return st;
    if (mkdir(s->files, 0700) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", s->files);
    /* a UNIX socket's path has at most 107 bytes */
    struct sockaddr_un sun;
    if (strlen(dir) + sizeof("/server.sock") < sizeof(sun.sun_path)) {
        snprintf(s->socket, sizeof(s->socket), "%s/server.sock", dir);
        return MFB_OK;
    }
    snprintf(s->socket_dir, sizeof(s->socket_dir), "/tmp/mfb-drill-XXXXXX");
    if (mkdtemp(s->socket_dir) == NULL) {
        s->socket_dir[0] = '\0';
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create a socket directory in /tmp");
    }
    snprintf(s->socket, sizeof(s->socket), "%.*s/server.sock", PATH_MAX - 16, s->socket_dir);
    char note_path[PATH_MAX];
    snprintf(note_path, sizeof(note_path), "%.*s/" SOCKET_DIR_NOTE, PATH_MAX - 16, dir);
    return fs_write_file_atomic(note_path, s->socket_dir, strlen(s->socket_dir), 0600, false, err);
}

void scratch_remove(struct scratch *s)
{
    if (s->pid > 0)
        scratch_server_stop(s, 0);
    if (s->socket_dir[0])
        remove_tree(s->socket_dir);
    s->socket_dir[0] = '\0';
    if (s->made)
        remove_tree(s->dir);
    s->made = false;
}

mfb_status scratch_write_cnf(struct scratch *s, const char *options, struct mfb_error *err)
{
    char *text = NULL;
    int n = asprintf(&text,
                     "# written by mfb drill for a throwaway server (docs/drill.md)\n"
                     "[mysqld]\n"
                     "%s"
                     "socket=%s\n"
                     "pid-file=%s\n"
                     "log-error=%s\n"
                     "tmpdir=%s\n"
                     "skip-networking\n"
                     "skip-grant-tables\n"
                     "skip-log-bin\n"
                     "event-scheduler=DISABLED\n"
                     "loose-skip-slave-start\n"
                     "innodb_buffer_pool_size=64M\n"
                     "loose-innodb_buffer_pool_load_at_startup=OFF\n"
                     "loose-innodb_buffer_pool_dump_at_shutdown=OFF\n"
                     "loose-performance_schema=OFF\n"
                     "general_log=OFF\n"
                     "slow_query_log=OFF\n",
                     options, s->socket, s->pid_file, s->error_log, s->dir);
    if (n < 0)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status st = fs_write_file_atomic(s->cnf, text, (size_t)n, 0600, false, err);
    free(text);
    return st;
}

const char *scratch_error_tail(const struct scratch *s, char *buf, size_t len)
{
    char *text = NULL;
    size_t n = 0;
    struct mfb_error e = {0};
    buf[0] = '\0';
    int fd = open(s->error_log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return buf;
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    if (fs_read_file(s->error_log, (size_t)(size > 0 ? size : 0) + 1, &text, &n, &e) != MFB_OK)
        return buf;
    /* the server's last [ERROR] lines say why; else its last lines */
    const char *from = text;
    if (n > 16384)
        from = text + n - 16384;
    mysql_command_last_lines(from, 4, buf, len);
    free(text);
    return buf;
}

bool scratch_disk_full(const struct scratch *s, uint64_t *avail)
{
    static const char *const signs[] = {
        "no space left on device", "error 28",          "errno 28", "errcode: 28",
        "error number 28",         "out of disk space", "disk full"};
    struct statvfs vs;
    *avail = statvfs(s->dir, &vs) == 0 ? (uint64_t)vs.f_bavail * vs.f_frsize : UINT64_MAX;
    if (*avail < SCRATCH_FULL_BELOW)
        return true;
    char *text = NULL;
    size_t n = 0;
    struct mfb_error e = {0};
    if (fs_read_file(s->error_log, 1u << 20, &text, &n, &e) != MFB_OK)
        return false;
    bool full = false;
    for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]) && !full; i++)
        full = strcasestr(text, signs[i]) != NULL;
    free(text);
    return full;
}

static bool reap(struct scratch *s, int *status)
{
    if (s->pid <= 0)
        return true;
    pid_t r = waitpid(s->pid, status, WNOHANG);
    if (r == s->pid || (r < 0 && errno == ECHILD)) {
        s->pid = 0;
        return true;
    }
    return false;
}

bool scratch_server_alive(struct scratch *s)
{
    int status;
    return !reap(s, &status);
}

mfb_status scratch_server_start(struct scratch *s, const char *bin, uint64_t timeout_ms,
                                struct cancel_token *cancel, struct mfb_error *err)
{
    char arg[PATH_MAX + 32];
    snprintf(arg, sizeof(arg), "--defaults-file=%s", s->cnf);
    char out_path[PATH_MAX];
    snprintf(out_path, sizeof(out_path), "%.*s/server.out", PATH_MAX - 16, s->dir);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", out_path);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(out);
        return mfb_error_errno(err, errno, MFB_ERR_INTERNAL, "cannot start the drill's server");
    }
    if (pid == 0) {
        /* the child: async-signal-safe calls only */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        setsid();
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, STDIN_FILENO);
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        char *const argv[] = {(char *)bin, arg, NULL};
        execv(bin, argv);
        _exit(127);
    }
    close(out);
    s->pid = pid;
    struct mysql_endpoint ep = {.socket = s->socket, .user = "root"};
    uint64_t deadline = clock_now_ms() + timeout_ms;
    for (;;) {
        int status = 0;
        if (reap(s, &status)) {
            char tail[1024], free_[32];
            uint64_t avail = 0;
            scratch_error_tail(s, tail, sizeof(tail));
            if (scratch_disk_full(s, &avail)) {
                mfb_error_set(err, MFB_ERR_NO_SPACE,
                              "the drill's server could not start: the disk of the scratch "
                              "directory '%s' is full (%s free): %s",
                              s->dir, format_size(avail, free_, sizeof(free_)),
                              tail[0] ? tail : "its error log is empty");
                mfb_error_hint(err, "this says nothing about the backup: free space there, or "
                                    "give a scratch directory on a larger file system with "
                                    "--scratch DIR");
                return MFB_ERR_NO_SPACE;
            }
            mfb_error_set(err, MFB_ERR_CORRUPT,
                          "the server would not start on the backup's files (it %s %d): %s",
                          WIFSIGNALED(status) ? "died of signal" : "exited with",
                          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                          tail[0] ? tail : "its error log is empty");
            mfb_error_hint(err, "the server's error log says why");
            return MFB_ERR_CORRUPT;
        }
        struct mysql_conn *c = NULL;
        struct mfb_error local = {0};
        if (access(s->socket, F_OK) == 0 && mysql_conn_connect(&ep, 2000, &c, &local) == MFB_OK) {
            mfb_status st = mysql_conn_exec(c, "SELECT 1", &local);
            mysql_conn_close(c);
            if (st == MFB_OK)
                return MFB_OK;
        }
        if (cancel_token_requested(cancel))
            return mfb_error_set(err, MFB_ERR_CANCELLED, "drill cancelled");
        if (clock_now_ms() >= deadline) {
            char tail[1024];
            scratch_error_tail(s, tail, sizeof(tail));
            mfb_error_set(err, MFB_ERR_TIMEOUT,
                          "the drill's server did not answer within %llu ms: %s",
                          (unsigned long long)timeout_ms, tail[0] ? tail : local.message);
            mfb_error_hint(err, "a large backup may need a longer start timeout: mfb instance "
                                "set INSTANCE --start-timeout D");
            return MFB_ERR_TIMEOUT;
        }
        clock_sleep_ms(POLL_MS, NULL);
    }
}

void scratch_server_stop(struct scratch *s, uint64_t timeout_ms)
{
    int status;
    if (reap(s, &status))
        return;
    kill(s->pid, timeout_ms > 0 ? SIGTERM : SIGKILL);
    uint64_t deadline = clock_now_ms() + timeout_ms;
    while (!reap(s, &status)) {
        if (clock_now_ms() >= deadline) {
            log_warn("drill", "server_pid=%d action=kill", (int)s->pid);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            s->pid = 0;
            return;
        }
        clock_sleep_ms(50, NULL);
    }
}
