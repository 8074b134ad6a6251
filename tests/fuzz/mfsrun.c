/*
 * mfsrun.c — plexus-mfs's requests run in this process (mfsrun.h).
 *
 * Entry points: mfsrun_init, mfsrun_fini, mfsrun_request, mfsrun_call, mfsrun_reply_free; and
 * table.c's mfs_new_driver (driver.c's, which is not linked here).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfsrun.h"

/* table.c names this as the server's loop handler; requests are run here without the
 * server's loop, so nothing calls it. */
int mfs_new_driver(plx_call *call)
{
	(void)call;
	fprintf(stderr, "mfsrun: mfs_new_driver called without a server loop\n");
	abort();
}

void mfsrun_init(mfs *fs, size_t cache_bytes, int readahead)
{
	memset(fs, 0, sizeof *fs);
	fs->cache_bytes = cache_bytes;
	fs->readahead = readahead;
	dev_init(&fs->dev, NULL, NULL, 1000, 0);
}

void mfsrun_fini(mfs *fs)
{
	mfs_reply out;
	memset(&out, 0, sizeof out);
	int rc = fs->mounted ? do_unmount(fs, NULL, NULL, &out) : 0;
	if (rc == -EBUSY) /* VFS still holds inodes: write back, leave the clean flag unset */
		super_commit(fs);
	if (fs->mounted)
		super_release(fs);
	stage_fini(fs);
	free(fs->orphans);
	fs->orphans = NULL;
	fs->norphans = 0;
	dev_fini(&fs->dev);
}

void mfsrun_reply_free(mfs_reply *out)
{
	free(out->ents);
	free(out->ptrs);
	free(out->names);
	free(out->data);
	memset(out, 0, sizeof *out);
}

/* The server table's entry for type, or NULL. */
static const plx_handler *s_entry(uint32_t type)
{
	size_t n;
	const plx_handler *table = mfs_handlers(&n);
	for (size_t i = 0; i < n; i++)
		if (table[i].type == type)
			return &table[i];
	return NULL;
}

/* Encodes the reply as the transport does for plx_call_reply. */
static void s_encode(const mfs_reply *out)
{
	size_t size = protobuf_c_message_get_packed_size(&out->r.base);
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return;
	size_t packed = protobuf_c_message_pack(&out->r.base, buf);
	assert(packed == size);
	(void)packed;
	free(buf);
}

int mfsrun_call(mfs *fs, uint32_t type, uint64_t vfs_gen, const ProtobufCMessage *body,
                const void *data, size_t data_size, mfs_reply *out)
{
	memset(out, 0, sizeof *out);
	plexus__fs_reply__init(&out->r);
	const plx_handler *h = s_entry(type);
	if (!h || !(h->flags & PLX_ON_WORKER))
		return -ENOSYS;
	mfs_do_fn *fn = (mfs_do_fn *)h->work; /* as table.c's mfs_submit does */
	assert(h->body ? body && body->descriptor == h->body : !body);
	plx_msg msg = {.kind = PLX_REQUEST,
	               .type = type,
	               .data = data_size ? data : NULL,
	               .data_size = data_size};
	snprintf(msg.source.label, sizeof msg.source.label, "vfs");
	msg.source.generation = vfs_gen;
	snprintf(msg.destination.label, sizeof msg.destination.label, "mfs");
	msg.destination.generation = 1;
	mfs_boundary(fs);
	int rc = fn(fs, &msg, body, out);
	if (rc >= 0)
		s_encode(out);
	return rc;
}

int mfsrun_request(mfs *fs, uint32_t type, uint64_t vfs_gen, const uint8_t *body, size_t body_size,
                   const void *data, size_t data_size, mfs_reply *out)
{
	memset(out, 0, sizeof *out);
	const plx_handler *h = s_entry(type);
	if (!h || !(h->flags & PLX_ON_WORKER))
		return -ENOSYS;
	ProtobufCMessage *unpacked = NULL;
	if (h->body) {
		plx_msg msg = {.body = body_size ? body : NULL, .body_size = body_size};
		if (!(unpacked = plx_msg_unpack(&msg, h->body)))
			return -EBADMSG;
	}
	int rc = mfsrun_call(fs, type, vfs_gen, unpacked, data, data_size, out);
	if (unpacked)
		protobuf_c_message_free_unpacked(unpacked, NULL);
	return rc;
}
