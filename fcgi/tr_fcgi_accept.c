/* tr_fcgi_accept.c - see tr_fcgi_accept.h. */
#define _GNU_SOURCE /* accept4 */
#include "tr_fcgi_accept.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tr_fcgi_addr_listed(const char *addr, const char *allowed)
{
    size_t n = strlen(addr);
    const char *p = allowed;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        /* libfcgi's list has no spaces, but a hand-written one might. */
        const char *s = p;
        size_t l = len;
        while (l > 0 && *s == ' ') {
            s++;
            l--;
        }
        while (l > 0 && s[l - 1] == ' ')
            l--;
        if (l == n && memcmp(s, addr, n) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int tr_fcgi_accept(int listen_fd, const char *allowed)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = accept4(listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6) {
        if (allowed != NULL) {
            char text[INET_ADDRSTRLEN] = "";
            const struct sockaddr_in *in = (const struct sockaddr_in *)&sa;
            if (sa.ss_family != AF_INET ||
                inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == NULL ||
                !tr_fcgi_addr_listed(text, allowed)) {
                close(fd);
                errno = EACCES;
                return -1;
            }
        }
        int one = 1;
        /* Best effort: without it answers are only slower. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}
