/*
 * blocktest.h — the block driver conformance suite, after MINIX's test/blocktest: every case
 * with its defined result (docs/drivers.md, "Block drivers"), run against one minor of one
 * driver from a client endpoint the caller owns.
 *
 * Entry points: blocktest_run, blocktest_readonly, blocktest_ping.
 *
 * The checks use cmocka's assertions, so call them from a cmocka test. They keep a shadow
 * copy of the whole minor: the minor must be at most BLOCKTEST_SIZE_MAX bytes, nobody else may
 * write it meanwhile, and its contents at the start do not matter (the suite reads them first).
 */
#ifndef PLEXUS_BLOCKTEST_H
#define PLEXUS_BLOCKTEST_H

#include <stdbool.h>
#include <stdint.h>

#include <plexus/bdev.h>
#include <plexus/transport.h>

#define BLOCKTEST_SIZE_MAX (64u * 1024 * 1024)

typedef struct blocktest_target {
	plx_ep *ep;         /* the client's endpoint, owned by the calling thread */
	const char *label;  /* the driver */
	uint32_t minor;     /* a minor of at most BLOCKTEST_SIZE_MAX bytes */
	uint64_t size;      /* what BDEV_IOC_INFO must say */
	uint32_t sector;    /* likewise */
	uint32_t bad_minor; /* a minor the driver does not have */
	int timeout_ms;     /* per request */
} blocktest_target;

/* The whole suite on a writable minor: info, open/close counting, reads and writes at many
 * offsets and sizes, vectored I/O, zero-length, unaligned, past-the-end, bad minor, oversize
 * and malformed requests, flush, ioctl, forced writes; then the minor's every byte checked
 * against the shadow copy. */
void blocktest_run(const blocktest_target *t);
/* The read-only cases: reads work, writes and opens for writing are -EROFS, nothing changes. */
void blocktest_readonly(const blocktest_target *t);
/* IPC_PING (RS's heartbeat) is answered with the sequence number. */
void blocktest_ping(const blocktest_target *t);

#endif
