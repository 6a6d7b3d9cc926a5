/*
 * fetch.c - the backup found on the receiver, then downloaded into the
 * spool, or a verified earlier download reused (see fetch.h).
 */
#include "job/restore/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/restore/swap.h"
#include "proto/proto.h"
#include "transfer/backup_list.h"

#define HASH_BLOCK (1u << 20)

mfb_status restore_fetch_hash_file(const char *path, uint8_t out[SHA256_LEN], uint64_t *size,
                                   struct mfb_error *err)
{
    struct sha256 h = {0};
    uint8_t *buf = malloc(HASH_BLOCK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t total = 0;
    mfb_status st = MFB_OK;
    if (buf == NULL)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    else if (fd < 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
    sha256_init(&h);
    while (st == MFB_OK) {
        size_t got = 0;
        st = fs_read_full(fd, buf, HASH_BLOCK, &got, path, err);
        if (st != MFB_OK || got == 0)
            break;
        sha256_update(&h, buf, got);
        total += got;
    }
    if (st == MFB_OK)
        sha256_final(&h, out);
    if (size)
        *size = total;
    sha256_free(&h);
    if (fd >= 0)
        close(fd);
    free(buf);
    return st;
}

/* True when a complete earlier download is there and matches. */
static mfb_status try_reuse(const struct restore_fetch *f, const char *path, bool *reused,
                            struct mfb_error *err)
{
    *reused = false;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return MFB_OK;
    uint8_t got[SHA256_LEN];
    uint64_t size = 0;
    mfb_status st = restore_fetch_hash_file(path, got, &size, err);
    if (st != MFB_OK)
        return st;
    if (size == f->backup->size && memcmp(got, f->backup->sha256, SHA256_LEN) == 0) {
        log_info("restore", "backup=%s file=\"%s\" note=reusing_verified_download",
                 f->backup->backup_id, path);
        *reused = true;
        return MFB_OK;
    }
    log_warn("restore", "backup=%s file=\"%s\" note=earlier_download_differs_removing",
             f->backup->backup_id, path);
    if (unlink(path) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot remove '%s'", path);
    return MFB_OK;
}

mfb_status restore_fetch_check_room(const struct restore_fetch *f, const char *path,
                                    struct mfb_error *err)
{
    char part[PATH_MAX + 8];
    snprintf(part, sizeof(part), "%s.part", path);
    struct stat sb;
    uint64_t have = stat(part, &sb) == 0 && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
    uint64_t need = f->backup->size > have ? f->backup->size - have : 0;
    uint64_t dev = 0, avail = 0;
    mfb_status st = swap_free_space(path, &dev, &avail, err);
    if (st == MFB_OK && need > avail) {
        char a[32], b[32];
        st = mfb_error_set(err, MFB_ERR_NO_SPACE,
                           "not enough room in the spool '%s' to download backup %s: it needs "
                           "%s more, %s are free",
                           f->spool, f->backup->backup_id, format_size(need, a, sizeof(a)),
                           format_size(avail, b, sizeof(b)));
        mfb_error_hint(err, "nothing was changed; free that much space there, or download "
                            "elsewhere with --spool DIR");
    }
    return st;
}

mfb_status restore_fetch_run(const struct restore_fetch *f, struct restore_fetch_result *res,
                             struct mfb_error *err)
{
    memset(res, 0, sizeof(*res));
    int n =
        snprintf(res->path, sizeof(res->path), "%s/restore-%s.zip", f->spool, f->backup->backup_id);
    if (n < 0 || (size_t)n >= sizeof(res->path))
        return mfb_error_set(err, MFB_ERR_INVALID, "spool path too long: '%s'", f->spool);
    mfb_status st = fs_mkdir_p(f->spool, 0700, err);
    if (st == MFB_OK)
        st = try_reuse(f, res->path, &res->reused, err);
    if (st != MFB_OK || res->reused)
        return st;
    st = restore_fetch_check_room(f, res->path, err);
    if (st != MFB_OK)
        return st;
    struct download_config cfg = {.client = f->client,
                                  .backup_id = f->backup->backup_id,
                                  .out_path = res->path,
                                  .cancel = f->cancel,
                                  .observers = f->observers,
                                  .observer_count = f->observer_count};
    struct download_result dr;
    st = download_backup(&cfg, &dr, err);
    res->resumed_from = dr.resumed_from;
    res->received = dr.bytes_received;
    if (st == MFB_OK && (dr.backup.size != f->backup->size ||
                         memcmp(dr.backup.sha256, f->backup->sha256, SHA256_LEN) != 0))
        st = mfb_error_set(err, MFB_ERR_PROTOCOL,
                           "backup %s: the receiver's record changed during the download",
                           f->backup->backup_id);
    return st;
}

mfb_status restore_fetch_find(const struct transfer_peer *client, struct cancel_token *cancel,
                              const char *instance, const char *key, struct backup_info *out,
                              size_t *listed, struct mfb_error *by_id_err, struct mfb_error *err)
{
    struct transfer_conn *conn = NULL;
    struct backup_list list = {0};
    mfb_status st = transfer_conn_open(client, cancel, &conn, err);
    if (st == MFB_OK)
        st = receiver_backup_list(conn, instance, &list, err);
    const struct backup_entry *e = st == MFB_OK ? backup_list_find(&list, key) : NULL;
    if (e != NULL)
        *out = e->info;
    else if (st == MFB_OK && proto_id_valid(key, 'b'))
        st = receiver_backup_get(conn, key, out, by_id_err);
    else if (st == MFB_OK)
        st = MFB_ERR_NOT_FOUND;
    *listed = list.count;
    backup_list_free(&list);
    transfer_conn_close(conn);
    return st;
}

bool restore_fetch_interrupted(mfb_status st)
{
    return st == MFB_ERR_CANCELLED || st == MFB_ERR_NETWORK || st == MFB_ERR_TIMEOUT;
}

void restore_fetch_hint_part_kept(struct mfb_error *err, const char *before, const char *path,
                                  const char *who)
{
    mfb_error_hint(err, "%s'%s.part' is kept and %s continues the download", before, path, who);
}

void restore_fetch_describe(const struct restore_fetch_result *fr, const char *tail, char *out,
                            size_t len)
{
    if (fr->reused)
        snprintf(out, len, "using the earlier download %s (SHA-256 checked again)", fr->path);
    else if (fr->resumed_from > 0)
        snprintf(out, len, "downloaded %s (resumed at byte %" PRIu64 "); SHA-256 matches%s",
                 fr->path, fr->resumed_from, tail);
    else
        snprintf(out, len, "downloaded %s; SHA-256 matches the receiver's%s", fr->path, tail);
}
