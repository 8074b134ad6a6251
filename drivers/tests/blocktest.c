/*
 * blocktest.c — the block driver conformance suite (blocktest.h), after MINIX's
 * test/blocktest/blocktest.c. Every case states its defined result; the results are those of
 * plexus/blockdriver.h and docs/drivers.md.
 *
 * Entry points: blocktest_run, blocktest_readonly, blocktest_ping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <plexus/blockdriver.h>

#include "blocktest.h"
#include "plexus/proto/bdev.pb-c.h"
#include "plexus/proto/ipc.pb-c.h"

#define S_R  PLEXUS__BDEV_ACCESS__BDEV_R_BIT
#define S_W  PLEXUS__BDEV_ACCESS__BDEV_W_BIT
#define S_MB (1024u * 1024)

typedef struct s_suite {
	const blocktest_target *t;
	plx_bdev *b;
	uint8_t *shadow; /* what the minor holds */
	uint32_t seed;
} s_suite;

/* Fills buf with bytes no earlier write used. */
static void s_pattern(s_suite *s, uint8_t *buf, size_t size)
{
	uint32_t x = ++s->seed * 2654435761u;
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

/* Writes size fresh bytes at pos, expects count (size, or less at the end), updates the
 * shadow. */
static void s_write(s_suite *s, uint64_t pos, size_t size, ssize_t count)
{
	uint8_t *buf = malloc(size);
	assert_non_null(buf);
	s_pattern(s, buf, size);
	assert_int_equal(plx_bdev_write(s->b, s->t->minor, pos, buf, size, 0), count);
	if (count > 0)
		memcpy(s->shadow + pos, buf, (size_t)count);
	free(buf);
}

/* Reads size bytes at pos, expects count and the shadow's bytes. */
static void s_read(s_suite *s, uint64_t pos, size_t size, ssize_t count)
{
	uint8_t *buf = malloc(size);
	assert_non_null(buf);
	memset(buf, 0xa5, size);
	assert_int_equal(plx_bdev_read(s->b, s->t->minor, pos, buf, size, 0), count);
	if (count > 0)
		assert_memory_equal(buf, s->shadow + pos, (size_t)count);
	free(buf);
}

/* Sends a raw request (body may be NULL) and returns the reply's status. */
static int s_raw(s_suite *s, uint32_t type, const ProtobufCMessage *body, const void *data,
                 size_t size)
{
	plx_request req = {.type = type, .body = body, .data = data, .data_size = size};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", s->t->label);
	plx_msg *reply = NULL;
	int rc = plx_sendrec(s->t->ep, &req, &reply, s->t->timeout_ms);
	plx_msg_destroy(&reply);
	return rc;
}

static void s_info(s_suite *s, uint32_t opens)
{
	plx_bdev_info info;
	assert_int_equal(plx_bdev_info_get(s->b, s->t->minor, &info), 0);
	assert_int_equal(info.size, s->t->size);
	assert_int_equal(info.sector_size, s->t->sector);
	assert_int_equal(info.open_count, opens);
	assert_int_equal(info.max_io, PLX_BDEV_MAX_IO);
}

/* Open/close counting: every open counts, a close without an open is -EINVAL. */
static void s_open_close(s_suite *s)
{
	uint32_t m = s->t->minor;
	plx_bdev_info before;
	assert_int_equal(plx_bdev_info_get(s->b, m, &before), 0);
	uint32_t base = before.open_count;
	for (uint32_t i = 1; i <= 5; i++) {
		assert_int_equal(plx_bdev_open(s->b, m, i % 2 ? S_R : S_R | S_W), 0);
		s_info(s, base + i);
	}
	for (uint32_t i = 5; i >= 1; i--) {
		assert_int_equal(plx_bdev_close(s->b, m), 0);
		s_info(s, base + i - 1);
	}
	for (uint32_t i = 0; i < base; i++) /* what a previous life left: close it too */
		assert_int_equal(plx_bdev_close(s->b, m), 0);
	assert_int_equal(plx_bdev_close(s->b, m), -EINVAL);
	assert_int_equal(plx_bdev_open(s->b, m, 4), -EINVAL);
	assert_int_equal(plx_bdev_open(s->b, m, S_R | 8), -EINVAL);
	s_info(s, 0);
	/* Opened again, as a file server would keep it during the rest of the suite. */
	assert_int_equal(plx_bdev_open(s->b, m, S_R | S_W), 0);
}

/* Reads and writes at many offsets and sizes, each checked against the shadow and its
 * neighbours left alone. */
static void s_offsets(s_suite *s)
{
	uint64_t sec = s->t->sector, size = s->t->size;
	const uint64_t pos[] = {
	    0,         sec, 7 * sec, 65536 - sec, S_MB + 3 * sec, size / 2 + sec, size - 64 * sec,
	    size - sec};
	const uint64_t len[] = {sec, 2 * sec, 4096, 65536 + sec, S_MB, 3 * S_MB + sec};
	for (size_t i = 0; i < sizeof pos / sizeof *pos; i++)
		for (size_t j = 0; j < sizeof len / sizeof *len; j++) {
			if (len[j] % sec)
				continue;
			uint64_t p = pos[i], n = len[j];
			ssize_t count = (ssize_t)(p + n <= size ? n : size - p);
			s_write(s, p, n, count);
			s_read(s, p, n, count);
			if (p >= sec)
				s_read(s, p - sec, sec, (ssize_t)sec); /* the sector before */
			if (p + n + sec <= size)
				s_read(s, p + n, sec, (ssize_t)sec); /* and after */
		}
}

/* GATHER and SCATTER: mixed element sizes, the most elements allowed, and results that differ
 * from one request per element in nothing. */
static void s_vectors(s_suite *s)
{
	uint32_t m = s->t->minor;
	uint64_t sec = s->t->sector;
	size_t sizes[] = {sec, 3 * sec, 8192, sec, 16 * sec};
	size_t n = sizeof sizes / sizeof *sizes, total = 0;
	struct iovec iov[PLX_BDEV_IOV_MAX + 1];
	uint8_t *buf = malloc(PLX_BDEV_IOV_MAX * 2 * sec + 65536);
	assert_non_null(buf);
	for (size_t i = 0; i < n; total += sizes[i], i++)
		iov[i] = (struct iovec){buf + total, sizes[i]};
	s_pattern(s, buf, total);
	uint64_t at = 5 * sec;
	assert_int_equal(plx_bdev_scatter(s->b, m, at, iov, (int)n, 0), total);
	memcpy(s->shadow + at, buf, total);
	s_read(s, at, total, (ssize_t)total);
	/* Gathered back with another split. */
	memset(buf, 0, total);
	struct iovec two[2] = {{buf, sec}, {buf + sec, total - sec}};
	assert_int_equal(plx_bdev_gather(s->b, m, at, two, 2, 0), total);
	assert_memory_equal(buf, s->shadow + at, total);
	/* PLX_BDEV_IOV_MAX elements of two sectors work; one more is -EINVAL. */
	for (int i = 0; i <= PLX_BDEV_IOV_MAX; i++)
		iov[i] = (struct iovec){buf + (size_t)i * 2 * sec, 2 * sec};
	s_pattern(s, buf, PLX_BDEV_IOV_MAX * 2 * sec);
	at = 64 * sec;
	assert_int_equal(plx_bdev_scatter(s->b, m, at, iov, PLX_BDEV_IOV_MAX, 0),
	                 PLX_BDEV_IOV_MAX * 2 * sec);
	memcpy(s->shadow + at, buf, PLX_BDEV_IOV_MAX * 2 * sec);
	memset(buf, 0, PLX_BDEV_IOV_MAX * 2 * sec);
	assert_int_equal(plx_bdev_gather(s->b, m, at, iov, PLX_BDEV_IOV_MAX, 0),
	                 PLX_BDEV_IOV_MAX * 2 * sec);
	assert_memory_equal(buf, s->shadow + at, PLX_BDEV_IOV_MAX * 2 * sec);
	assert_int_equal(plx_bdev_gather(s->b, m, at, iov, PLX_BDEV_IOV_MAX + 1, 0), -EINVAL);
	assert_int_equal(plx_bdev_scatter(s->b, m, at, iov, PLX_BDEV_IOV_MAX + 1, 0), -EINVAL);
	/* No element, an empty element, an unaligned element: -EINVAL. */
	assert_int_equal(plx_bdev_gather(s->b, m, at, iov, 0, 0), -EINVAL);
	struct iovec bad[3] = {{buf, sec}, {buf + sec, 0}, {buf + sec, sec}};
	assert_int_equal(plx_bdev_gather(s->b, m, at, bad, 3, 0), -EINVAL);
	assert_int_equal(plx_bdev_scatter(s->b, m, at, bad, 3, 0), -EINVAL);
	bad[1].iov_len = sec / 2 ? sec / 2 : 1;
	if (sec > 1) {
		assert_int_equal(plx_bdev_gather(s->b, m, at, bad, 3, 0), -EINVAL);
		assert_int_equal(plx_bdev_scatter(s->b, m, at, bad, 3, 0), -EINVAL);
	}
	/* A vector crossing the end is cut there: only the elements inside are filled. */
	uint64_t end = s->t->size;
	struct iovec cross[3] = {{buf, sec}, {buf + sec, 2 * sec}, {buf + 3 * sec, 4 * sec}};
	s_pattern(s, buf, 7 * sec);
	assert_int_equal(plx_bdev_scatter(s->b, m, end - 2 * sec, cross, 3, 0), 2 * sec);
	memcpy(s->shadow + end - 2 * sec, buf, 2 * sec);
	memset(buf, 0, 7 * sec);
	assert_int_equal(plx_bdev_gather(s->b, m, end - 2 * sec, cross, 3, 0), 2 * sec);
	assert_memory_equal(buf, s->shadow + end - 2 * sec, 2 * sec);
	free(buf);
}

/* Zero-length and unaligned requests: -EINVAL, and nothing written. */
static void s_zero_unaligned(s_suite *s)
{
	uint32_t m = s->t->minor;
	uint64_t sec = s->t->sector;
	uint8_t buf[8192];
	memset(buf, 0x5a, sizeof buf);
	assert_int_equal(plx_bdev_read(s->b, m, 0, buf, 0, 0), -EINVAL);
	assert_int_equal(plx_bdev_write(s->b, m, 0, buf, 0, 0), -EINVAL);
	if (sec > 1) {
		assert_int_equal(plx_bdev_read(s->b, m, 1, buf, sec, 0), -EINVAL);
		assert_int_equal(plx_bdev_write(s->b, m, sec / 2, buf, sec, 0), -EINVAL);
		assert_int_equal(plx_bdev_read(s->b, m, 0, buf, sec - 1, 0), -EINVAL);
		assert_int_equal(plx_bdev_write(s->b, m, sec, buf, sec + 1, 0), -EINVAL);
	}
	s_read(s, 0, 2 * sec, (ssize_t)(2 * sec));
}

/* At and past the end: count 0; crossing it: cut at the end; position + size overflowing
 * 64 bits: -EINVAL. */
static void s_past_end(s_suite *s)
{
	uint32_t m = s->t->minor;
	uint64_t sec = s->t->sector, end = s->t->size;
	uint8_t *buf = calloc(1, 8 * sec);
	assert_non_null(buf);
	s_read(s, end, sec, 0);
	s_read(s, end + sec, 4 * sec, 0);
	s_read(s, end + 1024 * 1024 * sec, sec, 0);
	assert_int_equal(plx_bdev_write(s->b, m, end, buf, sec, 0), 0);
	assert_int_equal(plx_bdev_write(s->b, m, end + 8 * sec, buf, sec, 0), 0);
	s_write(s, end - sec, 4 * sec, (ssize_t)sec);
	s_read(s, end - 3 * sec, 8 * sec, (ssize_t)(3 * sec));
	uint64_t top = UINT64_MAX - sec + 1; /* the last aligned position (sec: a power of 2) */
	assert_int_equal(plx_bdev_read(s->b, m, top, buf, 2 * sec, 0), -EINVAL);
	assert_int_equal(plx_bdev_read(s->b, m, top - sec, buf, sec, 0), 0); /* past the end */
	free(buf);
}

/* A minor the driver does not have, and one beyond every minor: -ENXIO for every request. */
static void s_bad_minor(s_suite *s)
{
	uint8_t buf[512] = {0};
	struct iovec iov = {buf, sizeof buf};
	plx_bdev_info info;
	size_t out = 0;
	const uint32_t minors[] = {s->t->bad_minor, PLX_BDEV_MINORS, UINT32_MAX};
	for (size_t i = 0; i < sizeof minors / sizeof *minors; i++) {
		uint32_t m = minors[i];
		assert_int_equal(plx_bdev_open(s->b, m, S_R), -ENXIO);
		assert_int_equal(plx_bdev_close(s->b, m), -ENXIO);
		assert_int_equal(plx_bdev_read(s->b, m, 0, buf, sizeof buf, 0), -ENXIO);
		assert_int_equal(plx_bdev_write(s->b, m, 0, buf, sizeof buf, 0), -ENXIO);
		assert_int_equal(plx_bdev_gather(s->b, m, 0, &iov, 1, 0), -ENXIO);
		assert_int_equal(plx_bdev_scatter(s->b, m, 0, &iov, 1, 0), -ENXIO);
		assert_int_equal(plx_bdev_info_get(s->b, m, &info), -ENXIO);
		assert_int_equal(plx_bdev_ioctl(s->b, m, 77, NULL, 0, NULL, &out), -ENXIO);
		assert_int_equal(plx_bdev_flush(s->b, m), -ENXIO);
	}
}

/* Over PLX_BDEV_MAX_IO in all: -EINVAL; exactly PLX_BDEV_MAX_IO works (cut at the end when the
 * minor is smaller). */
static void s_oversize(s_suite *s)
{
	uint32_t m = s->t->minor;
	uint64_t sec = s->t->sector;
	size_t max = PLX_BDEV_MAX_IO;
	uint8_t *buf = malloc(max + sec);
	assert_non_null(buf);
	assert_int_equal(plx_bdev_read(s->b, m, 0, buf, max + sec, 0), -EINVAL);
	assert_int_equal(plx_bdev_write(s->b, m, 0, buf, max + sec, 0), -EINVAL);
	struct iovec iov[2] = {{buf, max}, {buf + max, sec}};
	assert_int_equal(plx_bdev_gather(s->b, m, 0, iov, 2, 0), -EINVAL);
	assert_int_equal(plx_bdev_scatter(s->b, m, 0, iov, 2, 0), -EINVAL);
	s_read(s, 0, max, (ssize_t)(max < s->t->size ? max : s->t->size));
	free(buf);
}

/* Requests no client stub would send: the library still answers each with its error. */
static void s_malformed(s_suite *s)
{
	uint64_t sec = s->t->sector;
	uint8_t buf[4096] = {0};
	Plexus__BdevIo io = PLEXUS__BDEV_IO__INIT;
	io.minor = s->t->minor;
	io.size = sec;
	/* A write whose data frame is not its size, a read with a data frame: -EBADMSG. */
	assert_int_equal(s_raw(s, PLEXUS__BDEV_TYPE__BDEV_WRITE, &io.base, buf, sec / 2 + 1),
	                 -EBADMSG);
	assert_int_equal(s_raw(s, PLEXUS__BDEV_TYPE__BDEV_WRITE, &io.base, NULL, 0), -EBADMSG);
	assert_int_equal(s_raw(s, PLEXUS__BDEV_TYPE__BDEV_READ, &io.base, buf, sec), -EBADMSG);
	/* Unknown flags, sizes on a plain read, size on a vector: -EINVAL. */
	io.flags = 0x80;
	assert_int_equal(s_raw(s, PLEXUS__BDEV_TYPE__BDEV_READ, &io.base, NULL, 0), -EINVAL);
	io.flags = 0;
	uint64_t sizes[1] = {sec};
	io.sizes = sizes;
	io.n_sizes = 1;
	assert_int_equal(s_raw(s, PLEXUS__BDEV_TYPE__BDEV_READ, &io.base, NULL, 0), -EINVAL);
	assert_int_equal(s_raw(s, PLEXUS__BDEV_TYPE__BDEV_GATHER, &io.base, NULL, 0), -EINVAL);
	/* A body that is not a BdevIo: -EBADMSG from the server library. */
	Plexus__IpcEcho echo = PLEXUS__IPC_ECHO__INIT;
	echo.text = "not a block request";
	assert_int_equal(s_raw(s, PLEXUS__BDEV_TYPE__BDEV_READ, &echo.base, NULL, 0), -EBADMSG);
	/* A type of the family nobody handles: -ENOSYS. */
	assert_int_equal(s_raw(s, 0x05ff, NULL, NULL, 0), -ENOSYS);
	/* The driver is still there. */
	s_read(s, 0, sec, (ssize_t)sec);
}

/* FLUSH works, a forced write is written, an unknown ioctl is -ENOTTY, ioctl argument bytes
 * over PLX_BDEV_IOCTL_MAX are -EINVAL. */
static void s_flush_ioctl(s_suite *s)
{
	uint32_t m = s->t->minor;
	uint64_t sec = s->t->sector;
	assert_int_equal(plx_bdev_flush(s->b, m), 0);
	uint8_t *buf = malloc(2 * sec);
	assert_non_null(buf);
	s_pattern(s, buf, 2 * sec);
	assert_int_equal(
	    plx_bdev_write(s->b, m, 9 * sec, buf, 2 * sec, PLEXUS__BDEV_FLAG__BDEV_FORCEWRITE),
	    2 * sec);
	memcpy(s->shadow + 9 * sec, buf, 2 * sec);
	s_read(s, 9 * sec, 2 * sec, (ssize_t)(2 * sec));
	free(buf);
	uint8_t out[16];
	size_t out_size = sizeof out;
	assert_int_equal(plx_bdev_ioctl(s->b, m, 0x4242, "x", 1, out, &out_size), -ENOTTY);
	uint8_t *big = calloc(1, PLX_BDEV_IOCTL_MAX + 1);
	assert_non_null(big);
	assert_int_equal(
	    plx_bdev_ioctl(s->b, m, 0x4242, big, PLX_BDEV_IOCTL_MAX + 1, out, &out_size), -EINVAL);
	free(big);
}

/* Every byte of the minor against the shadow, in the largest reads allowed. */
static void s_verify_all(s_suite *s)
{
	for (uint64_t at = 0; at < s->t->size; at += PLX_BDEV_MAX_IO) {
		uint64_t n = s->t->size - at < PLX_BDEV_MAX_IO ? s->t->size - at : PLX_BDEV_MAX_IO;
		s_read(s, at, n, (ssize_t)n);
	}
}

/* Reads the minor into the shadow: the suite makes no assumption about what it held. */
static void s_suite_init(s_suite *s, const blocktest_target *t)
{
	assert_true(t->size <= BLOCKTEST_SIZE_MAX && t->sector > 0);
	assert_true(t->size >= 8 * S_MB); /* room for the 3 MiB transfers at every offset */
	s->t = t;
	assert_non_null(s->b = plx_bdev_new(t->ep, t->label, t->timeout_ms));
	assert_non_null(s->shadow = malloc(t->size));
	for (uint64_t at = 0; at < t->size; at += PLX_BDEV_MAX_IO) {
		uint64_t n = t->size - at < PLX_BDEV_MAX_IO ? t->size - at : PLX_BDEV_MAX_IO;
		assert_int_equal(plx_bdev_read(s->b, t->minor, at, s->shadow + at, n, 0), n);
	}
}

static void s_suite_done(s_suite *s)
{
	plx_bdev_destroy(&s->b);
	free(s->shadow);
}

void blocktest_run(const blocktest_target *t)
{
	s_suite s = {0};
	s_suite_init(&s, t);
	s_open_close(&s);
	s_offsets(&s);
	s_vectors(&s);
	s_zero_unaligned(&s);
	s_past_end(&s);
	s_bad_minor(&s);
	s_oversize(&s);
	s_malformed(&s);
	s_flush_ioctl(&s);
	s_verify_all(&s);
	assert_int_equal(plx_bdev_close(s.b, t->minor), 0);
	s_info(&s, 0);
	s_suite_done(&s);
}

void blocktest_readonly(const blocktest_target *t)
{
	s_suite s = {0};
	s_suite_init(&s, t);
	uint32_t m = t->minor;
	uint64_t sec = t->sector;
	uint8_t buf[8192] = {1};
	struct iovec iov = {buf, sec};
	plx_bdev_info info;
	assert_int_equal(plx_bdev_info_get(s.b, m, &info), 0);
	assert_true(info.read_only);
	assert_int_equal(plx_bdev_open(s.b, m, S_R | S_W), -EROFS);
	assert_int_equal(plx_bdev_open(s.b, m, S_R), 0);
	assert_int_equal(plx_bdev_write(s.b, m, 0, buf, sec, 0), -EROFS);
	assert_int_equal(plx_bdev_scatter(s.b, m, 0, &iov, 1, 0), -EROFS);
	assert_int_equal(plx_bdev_write(s.b, m, t->size, buf, sec, 0), -EROFS);
	assert_int_equal(plx_bdev_flush(s.b, m), 0);
	s_read(&s, 0, 4 * sec, (ssize_t)(4 * sec));
	s_read(&s, t->size - sec, 2 * sec, (ssize_t)sec);
	s_bad_minor(&s);
	s_verify_all(&s);
	assert_int_equal(plx_bdev_close(s.b, m), 0);
	s_suite_done(&s);
}

void blocktest_ping(const blocktest_target *t)
{
	Plexus__IpcPing ping = PLEXUS__IPC_PING__INIT;
	ping.sequence = 4242;
	plx_request req = {.type = PLEXUS__IPC_TYPE__IPC_PING, .body = &ping.base};
	snprintf(req.dst.label, sizeof req.dst.label, "%s", t->label);
	plx_msg *reply = NULL;
	assert_int_equal(plx_sendrec(t->ep, &req, &reply, t->timeout_ms), 0);
	Plexus__IpcPing *back =
	    (Plexus__IpcPing *)plx_msg_unpack(reply, &plexus__ipc_ping__descriptor);
	assert_non_null(back);
	assert_int_equal(back->sequence, 4242);
	protobuf_c_message_free_unpacked(&back->base, NULL);
	plx_msg_destroy(&reply);
}
