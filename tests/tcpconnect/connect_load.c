// SPDX-License-Identifier: BSD-2-Clause OR LGPL-2.1-only
/* Makes TCP connections to a loopback listener of its own at a given rate, for the
 * tcpconnect flood test and benchmark.
 *
 *   connect_load PORT RATE SECONDS [6]
 *
 * RATE 0 connects as fast as it can. Each client socket is closed with a reset (linger
 * 0), so no TIME_WAIT state piles up and the ephemeral ports do not run out. Prints
 * "connects=N failed=N seconds=S" at the end; exits 1 if it could not listen. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listener;

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

        if (fd >= 0)
            close(fd);
        else if (errno != EINTR && errno != ECONNABORTED)
            return NULL;
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct sockaddr_storage addr;
    socklen_t len;
    struct linger lg = {1, 0};
    pthread_t thread;
    unsigned long long connects = 0, failed = 0;
    double rate, seconds, start, end;
    int port, family, one = 1;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: connect_load PORT RATE SECONDS [6]\n");
        return 2;
    }
    port = atoi(argv[1]);
    rate = atof(argv[2]);
    seconds = atof(argv[3]);
    family = argc == 5 && strcmp(argv[4], "6") == 0 ? AF_INET6 : AF_INET;

    memset(&addr, 0, sizeof(addr));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&addr;

        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    listener = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, len) != 0 || listen(listener, 4096) != 0) {
        fprintf(stderr, "connect_load: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    pthread_create(&thread, NULL, accept_loop, NULL);

    start = now();
    end = start + seconds;
    for (;;) {
        double t = now();
        int fd;

        if (t >= end)
            break;
        if (rate > 0) {
            double due = start + (double)(connects + failed) / rate;

            if (due > t) {
                struct timespec ts = {(time_t)(due - t), (long)((due - t - (double)(time_t)(due - t)) * 1e9)};

                nanosleep(&ts, NULL);
            }
        }
        fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            failed++;
            continue;
        }
        if (connect(fd, (struct sockaddr *)&addr, len) == 0)
            connects++;
        else
            failed++;
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
    }
    printf("connects=%llu failed=%llu seconds=%.3f\n", connects, failed, now() - start);
    fflush(stdout);
    shutdown(listener, SHUT_RDWR);
    return 0;
}
