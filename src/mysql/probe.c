/*
 * probe.c - bare connect() probes (see probe.h).
 */
#include "mysql/probe.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int mysql_probe_unix(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return ENAMETOOLONG; /* no server can listen on it either */
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int result = 0;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EAGAIN &&
        errno != EINPROGRESS)
        result = errno;
    close(fd);
    return result;
}

int mysql_probe_tcp(const char *host, unsigned port, uint64_t timeout_ms)
{
    char service[16];
    snprintf(service, sizeof(service), "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    if (getaddrinfo(host, service, &hints, &list) != 0)
        return EHOSTUNREACH;
    int result = EHOSTUNREACH;
    for (struct addrinfo *ai = list; ai != NULL && result != 0; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            result = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            result = 0;
        } else if (errno != EINPROGRESS) {
            result = errno;
        } else {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int so_error = 0;
            socklen_t len = sizeof(so_error);
            int n = poll(&pfd, 1, (int)timeout_ms);
            if (n == 0)
                result = ETIMEDOUT;
            else if (n < 0)
                result = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0)
                result = errno;
            else
                result = so_error;
        }
        close(fd);
    }
    freeaddrinfo(list);
    return result;
}
