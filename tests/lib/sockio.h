/* SPDX-License-Identifier: MIT */
/*
 * sockio.h - whole-buffer send and receive on a stream socket, for the
 * test and benchmark programs that speak vgpud's protocol on a raw socket.
 */
#ifndef VGPU_TESTS_SOCKIO_H
#define VGPU_TESTS_SOCKIO_H

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Sends all @n bytes; 0 on success, -1 on error (never raises SIGPIPE). */
static inline int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= k;
	}
	return 0;
}

/*
 * Reads exactly @n bytes; 0 on success, 1 when the peer closed first, -1 on
 * error or a receive time-out.
 */
static inline int recv_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t k = recv(fd, c, n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0)
			return 1;
		if (k < 0)
			return -1;
		c += k;
		n -= k;
	}
	return 0;
}

#endif /* VGPU_TESTS_SOCKIO_H */
