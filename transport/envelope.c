/*
 * envelope.c — the protobuf envelope (plexus.Envelope, proto/envelope.proto) written and read
 * by hand, on the wire exactly as protobuf-c writes it.
 *
 * Entry points (internal): plx__wire_size, plx__wire_pack, plx__wire_unpack.
 *
 * The envelope has six fields, three of them bytes; protobuf-c packs and unpacks it through
 * its generic descriptor walk and unpacks the bytes fields into allocated copies. Here it is
 * packed straight into its frame, and read in place: the bytes fields of a read envelope point
 * into the packed bytes, which the message keeps. The rules are protobuf-c's: fields in any
 * order, the last of a repeated field wins, unknown fields of wire types 0, 1, 2 and 5 are
 * skipped; a known field of the wrong wire type, a group, a varint longer than 10 bytes, a
 * length prefix longer than 5 bytes or past the end, and a key whose first byte says field 0
 * make the envelope unreadable. docs/protocol.md; tests/fuzz/fuzz-envelope.c and test-malformed
 * check it.
 */
#include <string.h>

#include "internal.h"

enum { S_HEAD = 1, S_REQUEST_ID, S_STATUS, S_BODY, S_DATA_SIZE, S_INLINE_DATA };
enum { S_VARINT = 0, S_FIXED64 = 1, S_BYTES = 2, S_FIXED32 = 5 };

static size_t s_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *s_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint32_t s_zigzag(int32_t v)
{
	return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

/* Bytes of a proto3 field as protobuf-c writes it: nothing for 0 or empty. */
static size_t s_varint_field_size(uint64_t v)
{
	return v ? 1 + s_varint_size(v) : 0;
}

static size_t s_bytes_field_size(size_t len)
{
	return len ? 1 + s_varint_size(len) + len : 0;
}

size_t plx__wire_size(const plx_wire *w)
{
	return s_bytes_field_size(w->head_size) + s_varint_field_size(w->request_id) +
	       s_varint_field_size(s_zigzag(w->status)) + s_bytes_field_size(w->body_size) +
	       s_varint_field_size(w->data_size) + s_bytes_field_size(w->inline_size);
}

static uint8_t *s_put_varint_field(uint8_t *p, unsigned field, uint64_t v)
{
	if (!v)
		return p;
	*p++ = (uint8_t)(field << 3 | S_VARINT);
	return s_put_varint(p, v);
}

static uint8_t *s_put_bytes_field(uint8_t *p, unsigned field, const uint8_t *bytes, size_t len)
{
	if (!len)
		return p;
	*p++ = (uint8_t)(field << 3 | S_BYTES);
	p = s_put_varint(p, len);
	memcpy(p, bytes, len);
	return p + len;
}

size_t plx__wire_pack(const plx_wire *w, uint8_t *out)
{
	uint8_t *p = s_put_bytes_field(out, S_HEAD, w->head, w->head_size);
	p = s_put_varint_field(p, S_REQUEST_ID, w->request_id);
	p = s_put_varint_field(p, S_STATUS, s_zigzag(w->status));
	p = s_put_bytes_field(p, S_BODY, w->body, w->body_size);
	p = s_put_varint_field(p, S_DATA_SIZE, w->data_size);
	p = s_put_bytes_field(p, S_INLINE_DATA, w->inline_data, w->inline_size);
	return (size_t)(p - out);
}

/* Reads a varint of at most max bytes at *p (before end) into *v. */
static bool s_get_varint(const uint8_t **p, const uint8_t *end, int max, uint64_t *v)
{
	uint64_t r = 0;
	for (int i = 0; i < max && *p < end; i++) {
		uint8_t b = *(*p)++;
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

static bool s_is_bytes_field(uint64_t field)
{
	return field == S_HEAD || field == S_BODY || field == S_INLINE_DATA;
}

static bool s_is_varint_field(uint64_t field)
{
	return field == S_REQUEST_ID || field == S_STATUS || field == S_DATA_SIZE;
}

static void s_set_varint(plx_wire *w, uint64_t field, uint64_t v)
{
	if (field == S_REQUEST_ID)
		w->request_id = v;
	else if (field == S_STATUS) /* sint32: the low 32 bits, zigzag-decoded */
		w->status = (int32_t)(((uint32_t)v >> 1) ^ (0u - ((uint32_t)v & 1)));
	else
		w->data_size = v;
}

static void s_set_bytes(plx_wire *w, uint64_t field, const uint8_t *bytes, size_t len)
{
	if (field == S_HEAD) {
		w->head = bytes;
		w->head_size = len;
	} else if (field == S_BODY) {
		w->body = bytes;
		w->body_size = len;
	} else {
		w->inline_data = bytes;
		w->inline_size = len;
	}
}

/* Reads one field at *p. Returns false when the envelope is unreadable. */
static bool s_field(const uint8_t **p, const uint8_t *end, plx_wire *w)
{
	uint64_t key, v;
	if ((**p & 0xf8) == 0 || !s_get_varint(p, end, 5, &key))
		return false; /* as protobuf-c: field 0 only in a key's first byte is refused */
	uint64_t field = key >> 3 & UINT32_MAX; /* and 32 bits of field number are kept */
	switch (key & 7) {
	case S_VARINT:
		if (!s_get_varint(p, end, 10, &v) || s_is_bytes_field(field))
			return false;
		if (s_is_varint_field(field))
			s_set_varint(w, field, v);
		return true;
	case S_BYTES:
		if (!s_get_varint(p, end, 5, &v) || v > (uint64_t)(end - *p) ||
		    s_is_varint_field(field))
			return false;
		if (s_is_bytes_field(field))
			s_set_bytes(w, field, *p, (size_t)v);
		*p += v;
		return true;
	case S_FIXED64:
	case S_FIXED32: {
		size_t len = (key & 7) == S_FIXED64 ? 8 : 4;
		if (s_is_bytes_field(field) || s_is_varint_field(field) || len > (size_t)(end - *p))
			return false;
		*p += len;
		return true;
	}
	default:
		return false; /* groups (3, 4) and the undefined 6 and 7 */
	}
}

int plx__wire_unpack(const uint8_t *bytes, size_t size, plx_wire *w)
{
	*w = (plx_wire){0};
	const uint8_t *p = bytes, *end = bytes + size;
	while (p < end)
		if (!s_field(&p, end, w))
			return -EBADMSG;
	return 0;
}
