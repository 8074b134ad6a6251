/*
 * stage.c — staged data: FS_STAGE, FS_COLLECT, and the stages FS_READ and FS_WRITE use when
 * VFS names a client (docs/protocol.md "Staged data").
 *
 * Entry points: do_stage, do_collect, stage_hold, stage_take, stage_expire, stage_fini.
 *
 * File data moves once between a client and this server: a client's bytes wait here as a
 * stage (FS_STAGE) until VFS, having checked the descriptor, names the stage in an FS_WRITE;
 * a read VFS asks for a client leaves its bytes here for that client to collect
 * (FS_COLLECT). A stage belongs to the label that sent it, or that VFS named: nobody else
 * writes with it or collects it. Stages live in memory only, so a restart voids them all; a
 * stage not used within MFS_STAGE_TTL_MS is dropped. At most MFS_STAGES_PER_OWNER per label
 * and MFS_STAGE_BYTES in all are held; past that FS_STAGE answers -EAGAIN and a read sends
 * its bytes with the reply (the client then sends or gets them through VFS, as before).
 * Only the worker thread touches the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mfs.h"

/* A fresh stage id: random (never 0), so a later instance's ids do not meet an earlier's. */
static uint64_t s_new_id(mfs *fs)
{
	uint64_t id = 0;
	while (id == 0)
		if (getrandom(&id, sizeof id, 0) != sizeof id)
			id = ++fs->stage_serial * 0x9E3779B97F4A7C15ull;
	return id;
}

static void s_drop(mfs *fs, mfs_stage *s)
{
	fs->stage_bytes -= s->size;
	free(s->data);
	memset(s, 0, sizeof *s);
}

void stage_expire(mfs *fs)
{
	int64_t now = mfs_now_ms();
	for (size_t i = 0; i < MFS_STAGES; i++)
		if (fs->stages[i].id && fs->stages[i].due_ms <= now)
			s_drop(fs, &fs->stages[i]);
}

void stage_fini(mfs *fs)
{
	for (size_t i = 0; i < MFS_STAGES; i++)
		if (fs->stages[i].id)
			s_drop(fs, &fs->stages[i]);
}

int stage_hold(mfs *fs, const char *owner, uint8_t *data, size_t size, uint64_t *id)
{
	stage_expire(fs);
	if (!owner || !*owner || strlen(owner) >= sizeof fs->stages[0].owner)
		return -EINVAL;
	mfs_stage *free_slot = NULL;
	int mine = 0;
	for (size_t i = 0; i < MFS_STAGES; i++) {
		mfs_stage *s = &fs->stages[i];
		if (!s->id && !free_slot)
			free_slot = s;
		else if (s->id && strcmp(s->owner, owner) == 0)
			mine++;
	}
	if (!free_slot || mine >= MFS_STAGES_PER_OWNER || size > MFS_STAGE_BYTES - fs->stage_bytes)
		return -EAGAIN;
	free_slot->id = s_new_id(fs);
	snprintf(free_slot->owner, sizeof free_slot->owner, "%s", owner);
	free_slot->data = data;
	free_slot->size = size;
	free_slot->due_ms = mfs_now_ms() + MFS_STAGE_TTL_MS;
	fs->stage_bytes += size;
	*id = free_slot->id;
	return 0;
}

uint8_t *stage_take(mfs *fs, uint64_t id, const char *owner, size_t *size)
{
	for (size_t i = 0; id && owner && i < MFS_STAGES; i++) {
		mfs_stage *s = &fs->stages[i];
		if (s->id != id || strcmp(s->owner, owner) != 0)
			continue;
		uint8_t *data = s->data;
		*size = s->size;
		fs->stage_bytes -= s->size;
		memset(s, 0, sizeof *s);
		return data;
	}
	return NULL;
}

int do_stage(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	(void)body;
	if (msg->data_size == 0)
		return -EINVAL;
	if (msg->data_size > MFS_STAGE_MAX)
		return -EFBIG;
	uint8_t *copy = malloc(msg->data_size);
	if (!copy)
		return -EAGAIN;
	memcpy(copy, msg->data, msg->data_size);
	int rc = stage_hold(fs, msg->source.label, copy, msg->data_size, &out->r.stage);
	if (rc < 0)
		free(copy);
	return rc;
}

int do_collect(mfs *fs, const plx_msg *msg, const ProtobufCMessage *body, mfs_reply *out)
{
	const Plexus__FsStage *st = (const Plexus__FsStage *)body;
	size_t size = 0;
	uint8_t *data = stage_take(fs, st->stage, msg->source.label, &size);
	if (!data)
		return -ENOENT;
	if (st->drop) {
		free(data);
		return 0;
	}
	out->data = data;
	out->data_size = size;
	return 0;
}
