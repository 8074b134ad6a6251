/*
 * test-envelope.c — the hand-written envelope codec (transport/envelope.c) against protobuf-c's
 * own, generated from proto/envelope.proto: the same bytes when packing, the same fields or
 * the same refusal when reading, for envelopes of every shape and for damaged ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define S_ROUNDS 20000

static uint64_t s_state = 88172645463325252ull;

static uint64_t s_rand(void)
{
	s_state ^= s_state << 13;
	s_state ^= s_state >> 7;
	s_state ^= s_state << 17;
	return s_state;
}

/* A value of a random width: 0, small, or up to 64 bits. */
static uint64_t s_rand_value(void)
{
	switch (s_rand() % 4) {
	case 0:
		return 0;
	case 1:
		return s_rand() % 300;
	case 2:
		return s_rand() >> (s_rand() % 64);
	default:
		return s_rand();
	}
}

static uint8_t s_bytes[3][300];

/* A random envelope, its bytes fields from s_bytes. */
static plx_wire s_rand_wire(void)
{
	for (int i = 0; i < 3; i++)
		for (size_t j = 0; j < sizeof s_bytes[i]; j++)
			s_bytes[i][j] = (uint8_t)s_rand();
	return (plx_wire){.head = s_bytes[0],
	                  .head_size = s_rand() % 200,
	                  .request_id = s_rand_value(),
	                  .status = (int32_t)s_rand_value(),
	                  .body = s_bytes[1],
	                  .body_size = s_rand() % 2 ? s_rand() % 300 : 0,
	                  .data_size = s_rand_value(),
	                  .inline_data = s_bytes[2],
	                  .inline_size = s_rand() % 2 ? s_rand() % 257 : 0};
}

static Plexus__Envelope s_as_protobuf(const plx_wire *w)
{
	Plexus__Envelope env = PLEXUS__ENVELOPE__INIT;
	env.head = (ProtobufCBinaryData){w->head_size, (uint8_t *)w->head};
	env.request_id = w->request_id;
	env.status = w->status;
	env.body = (ProtobufCBinaryData){w->body_size, (uint8_t *)w->body};
	env.data_size = w->data_size;
	env.inline_data = (ProtobufCBinaryData){w->inline_size, (uint8_t *)w->inline_data};
	return env;
}

static void s_same_bytes(const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
	assert_int_equal(a_size, b_size);
	if (a_size)
		assert_memory_equal(a, b, a_size);
}

/* What plx__wire_unpack read equals what protobuf-c unpacked. */
static void s_same_fields(const plx_wire *w, const Plexus__Envelope *env)
{
	s_same_bytes(w->head, w->head_size, env->head.data, env->head.len);
	assert_true(w->request_id == env->request_id);
	assert_int_equal(w->status, env->status);
	s_same_bytes(w->body, w->body_size, env->body.data, env->body.len);
	assert_true(w->data_size == env->data_size);
	s_same_bytes(w->inline_data, w->inline_size, env->inline_data.data, env->inline_data.len);
}

/* Both read bytes alike: both refuse, or both accept with the same fields. */
static void s_read_alike(const uint8_t *bytes, size_t size)
{
	plx_wire w;
	int rc = plx__wire_unpack(bytes, size, &w);
	Plexus__Envelope *env = plexus__envelope__unpack(NULL, size, bytes);
	if ((rc == 0) != (env != NULL)) {
		for (size_t i = 0; i < size; i++)
			print_message("%02x ", bytes[i]);
		print_message("\nmine %d protobuf-c %s\n", rc, env ? "accepts" : "refuses");
	}
	assert_int_equal(rc == 0, env != NULL);
	if (env) {
		s_same_fields(&w, env);
		plexus__envelope__free_unpacked(env, NULL);
	}
}

static void test_pack_as_protobuf_c(void **unused)
{
	(void)unused;
	static uint8_t mine[1024], theirs[1024];
	for (int i = 0; i < S_ROUNDS; i++) {
		plx_wire w = s_rand_wire();
		Plexus__Envelope env = s_as_protobuf(&w);
		size_t size = plx__wire_size(&w);
		assert_int_equal(size, protobuf_c_message_get_packed_size(&env.base));
		assert_int_equal(plx__wire_pack(&w, mine), size);
		assert_int_equal(protobuf_c_message_pack(&env.base, theirs), size);
		s_same_bytes(mine, size, theirs, size);
		s_read_alike(mine, size);
	}
}

static void test_damaged_alike(void **unused)
{
	(void)unused;
	static uint8_t buf[1100];
	for (int i = 0; i < S_ROUNDS; i++) {
		plx_wire w = s_rand_wire();
		size_t size = plx__wire_pack(&w, buf);
		switch (s_rand() % 4) {
		case 0: /* a byte changed */
			if (size)
				buf[s_rand() % size] = (uint8_t)s_rand();
			break;
		case 1: /* cut short */
			size = size ? s_rand() % size : 0;
			break;
		case 2: /* an unknown or repeated field of any wire type appended */
			buf[size++] = (uint8_t)s_rand();
			for (int j = 0; j < 12; j++)
				buf[size++] = (uint8_t)s_rand();
			size -= s_rand() % 12;
			break;
		default: /* noise */
			size = s_rand() % 40;
			for (size_t j = 0; j < size; j++)
				buf[j] = (uint8_t)s_rand();
		}
		s_read_alike(buf, size);
	}
}

static void test_edges(void **unused)
{
	(void)unused;
	static const struct {
		const char *what;
		uint8_t bytes[16];
		size_t size;
	} cases[] = {
	    {"empty", {0}, 0},
	    {"field 0", {0x00, 0x01}, 2},
	    {"head as a varint", {0x08, 0x01}, 2},
	    {"request id as bytes", {0x12, 0x01, 0x00}, 3},
	    {"status, most negative", {0x18, 0xff, 0xff, 0xff, 0xff, 0x0f}, 6},
	    {"status, 64-bit varint",
	     {0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	     11},
	    {"varint of 11 bytes",
	     {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	     12},
	    {"group", {0x3b, 0x3c}, 2},
	    {"unknown fixed32", {0x7d, 1, 2, 3, 4}, 5},
	    {"unknown fixed64 cut", {0x79, 1, 2, 3}, 4},
	    {"request id as fixed64", {0x11, 1, 2, 3, 4, 5, 6, 7, 8}, 9},
	    {"long length prefix", {0x22, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00}, 8},
	    {"length past the end", {0x22, 0x05, 0x00}, 3},
	    {"repeated head", {0x0a, 0x01, 0x41, 0x0a, 0x02, 0x42, 0x43}, 7},
	    {"empty body", {0x22, 0x00}, 2},
	    {"long tag", {0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00}, 6},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		print_message("%s\n", cases[i].what);
		s_read_alike(cases[i].bytes, cases[i].size);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pack_as_protobuf_c),
	    cmocka_unit_test(test_damaged_alike),
	    cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
