/*
 * head.c — envelope heads (EnvelopeHead in proto/envelope.proto): version, kind, type, source
 * and destination, which repeat from message to message between two peers.
 *
 * Entry points (internal): plx__head_for, plx__head_read.
 *
 * Each thread keeps the last PLX_HEADS heads it packed, found by their fields, and the last
 * PLX_HEADS heads it read, found by their bytes. Decoding is a function of the bytes, so a
 * head whose bytes were decoded before has the same fields again; only a head not seen lately
 * costs a protobuf-c pack or unpack.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PLX_HEADS 4

static _Thread_local plx_head s_packed[PLX_HEADS];
static _Thread_local unsigned s_packed_next;
static _Thread_local plx_head s_read[PLX_HEADS];
static _Thread_local unsigned s_read_next;

/* Copies a label and generation into to. Returns false when the label is too long. */
static bool s_copy_label(plx_name *to, const char *label, uint64_t generation)
{
	size_t len = strnlen(label, PLX_LABEL_MAX);
	if (len == PLX_LABEL_MAX)
		return false;
	memcpy(to->label, label, len + 1);
	to->generation = generation;
	return true;
}

/* Copies name (NULL: the empty name) into to. Returns false when its label is too long. */
static bool s_copy_name(plx_name *to, const plx_name *name)
{
	return name ? s_copy_label(to, name->label, name->generation) : s_copy_label(to, "", 0);
}

static bool s_same_name(const plx_name *cached, const plx_name *name)
{
	return name ? cached->generation == name->generation &&
	                  strcmp(cached->label, name->label) == 0
	            : cached->generation == 0 && !cached->label[0];
}

const plx_head *plx__head_for(const plx_outgoing *out)
{
	for (int i = 0; i < PLX_HEADS; i++) {
		const plx_head *h = &s_packed[i];
		if (h->size && h->kind == (uint32_t)out->kind && h->type == out->type &&
		    s_same_name(&h->source, out->source) &&
		    s_same_name(&h->destination, out->destination))
			return h;
	}
	plx_head *h = &s_packed[s_packed_next++ % PLX_HEADS];
	h->size = 0;
	if (!s_copy_name(&h->source, out->source) ||
	    !s_copy_name(&h->destination, out->destination))
		return NULL;
	h->version = PLX_PROTOCOL_VERSION;
	h->kind = (uint32_t)out->kind;
	h->type = out->type;
	Plexus__EnvelopeHead head = PLEXUS__ENVELOPE_HEAD__INIT;
	head.version = h->version;
	head.kind = (Plexus__Kind)h->kind;
	head.type = h->type;
	head.source_label = h->source.label;
	head.source_generation = h->source.generation;
	head.destination_label = h->destination.label;
	head.destination_generation = h->destination.generation;
	h->size = protobuf_c_message_pack(&head.base, h->bytes);
	return h;
}

/* Unpacks size bytes into h. Returns false when they are not a head with valid labels. */
static bool s_decode(plx_head *h, const uint8_t *bytes, size_t size)
{
	Plexus__EnvelopeHead *head = plexus__envelope_head__unpack(NULL, size, bytes);
	if (!head)
		return false;
	bool ok =
	    s_copy_label(&h->source, head->source_label, head->source_generation) &&
	    s_copy_label(&h->destination, head->destination_label, head->destination_generation);
	h->version = head->version;
	h->kind = (uint32_t)head->kind;
	h->type = head->type;
	plexus__envelope_head__free_unpacked(head, NULL);
	if (ok) {
		memcpy(h->bytes, bytes, size);
		h->size = size;
	}
	return ok;
}

const plx_head *plx__head_read(const uint8_t *bytes, size_t size)
{
	if (size == 0 || size > PLX_HEAD_MAX)
		return NULL;
	for (int i = 0; i < PLX_HEADS; i++) {
		const plx_head *h = &s_read[i];
		if (h->size == size && memcmp(h->bytes, bytes, size) == 0)
			return h;
	}
	plx_head *h = &s_read[s_read_next++ % PLX_HEADS];
	h->size = 0;
	return s_decode(h, bytes, size) ? h : NULL;
}
