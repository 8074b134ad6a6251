/*
 * trace.c — the message trace and the names of message types.
 *
 * Entry points: plx_trace_set, plx_trace_enabled, plx_register_types, plx_type_name,
 * plx_register_family, plx_family_request (plexus/family.h); internal plx__now_us, plx__wall_us,
 * plx__trace_out, plx__trace_in.
 *
 * When tracing is off the transport checks one relaxed atomic flag per message and does
 * nothing else; clocks are read only while it is on.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <plexus/family.h>

#include "internal.h"
#include "plexus/proto/ipc.pb-c.h"

#define S_FAMILIES_MAX 32

/* The registry of families (plexus/family.h says why one registry holds both): each entry's
 * enum names types in traces; its table, when it has one, is what plx_server_new checks table
 * entries against. An entry is written before the count that makes it visible; a table added
 * to an entry already visible (names first, table later) is published atomically. */
static struct {
	const ProtobufCEnumDescriptor *types;
	_Atomic(const plx_family *) requests; /* NULL: names only */
} s_families[S_FAMILIES_MAX] = {{&plexus__ipc_type__descriptor, &plx_family_ipc}};
static atomic_int s_nfamilies = 1;
static pthread_mutex_t s_families_lock = PTHREAD_MUTEX_INITIALIZER;

/* Registers types, with its table family (NULL: names only). */
static int s_register(const ProtobufCEnumDescriptor *types, const plx_family *family)
{
	int rc = 0;
	pthread_mutex_lock(&s_families_lock);
	int n = atomic_load(&s_nfamilies), i = 0;
	while (i < n && s_families[i].types != types)
		i++;
	if (i == n && n == S_FAMILIES_MAX)
		rc = -ENOSPC;
	else if (i == n) {
		s_families[n].types = types;
		atomic_store(&s_families[n].requests, family);
		atomic_store(&s_nfamilies, n + 1);
	} else if (family)
		atomic_store(&s_families[i].requests, family);
	pthread_mutex_unlock(&s_families_lock);
	return rc;
}

int plx_register_types(const ProtobufCEnumDescriptor *family)
{
	return s_register(family, NULL);
}

int plx_register_family(const plx_family *family)
{
	if (!family)
		return -EINVAL;
	return s_register(family->types, family);
}

const plx_request_line *plx_family_request(uint32_t type)
{
	int n = atomic_load(&s_nfamilies);
	for (int i = 0; i < n; i++) {
		const plx_family *f = atomic_load(&s_families[i].requests);
		for (size_t j = 0; f && j < f->n; j++)
			if (f->lines[j].type == type)
				return &f->lines[j];
	}
	return NULL;
}

const char *plx_type_name(uint32_t type)
{
	int n = atomic_load(&s_nfamilies);
	for (int i = 0; i < n; i++) {
		const ProtobufCEnumValue *value =
		    protobuf_c_enum_descriptor_get_value(s_families[i].types, (int)type);
		if (value && type != 0)
			return value->name;
	}
	return "?";
}

void plx_trace_set(plx_ctx *self, bool enabled, plx_trace_fn *fn, void *arg)
{
	atomic_store(&self->trace_on, false);
	self->trace_fn = fn;
	self->trace_arg = arg;
	atomic_store(&self->trace_on, enabled);
}

bool plx_trace_enabled(const plx_ctx *self)
{
	return atomic_load(&self->trace_on);
}

uint64_t plx__now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *s_kind_name(plx_kind kind)
{
	switch (kind) {
	case PLX_REQUEST:
		return "request";
	case PLX_REPLY:
		return "reply";
	case PLX_NOTIFY:
		return "notify";
	}
	return "?";
}

static void s_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	plx__log_emit(PLX_LOG_TRACE, fmt, ap); /* the context's switch said so: no threshold */
	va_end(ap);
}

/* This host's wall clock (CLOCK_REALTIME) in microseconds: the t= of a trace line, which
 * `plexus trace` aligns across nodes from the messages themselves (docs/trace.md). */
int64_t plx__wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One log line per message at level trace (plexus/log.h): direction, kind, type, who to whom,
 * size, status, round trip, then the wall clock at the end (older readers stop before it). */
static void s_print(const plx_trace_event *ev)
{
	s_log("%c %-7s %s(%" PRIu32 ") %s/%" PRIu64 " -> %s/%" PRIu64 " id=%" PRIu64
	      " size=%zu status=%" PRId32 " latency=%" PRIu64 "us t=%" PRId64,
	      ev->direction, s_kind_name(ev->kind), plx_type_name(ev->type), ev->type,
	      ev->source->label, ev->source->generation, ev->destination->label,
	      ev->destination->generation, ev->request_id, ev->size, ev->status, ev->latency_us,
	      ev->wall_us);
}

static void s_emit(plx_ctx *ctx, const plx_trace_event *ev)
{
	if (ctx->trace_fn)
		ctx->trace_fn(ev, ctx->trace_arg);
	else
		s_print(ev);
}

void plx__trace_out(plx_ctx *ctx, const plx_outgoing *out, size_t size, int64_t wall_us)
{
	static const plx_name nobody = {.label = "", .generation = 0};
	plx_trace_event ev = {
	    .direction = '>',
	    .kind = out->kind,
	    .type = out->type,
	    .status = out->status,
	    .request_id = out->request_id,
	    .source = out->source ? out->source : &nobody,
	    .destination = out->destination ? out->destination : &nobody,
	    .size = size,
	    .wall_us = wall_us,
	};
	s_emit(ctx, &ev);
}

void plx__trace_in(plx_ctx *ctx, const plx_msg *msg, uint64_t latency_us)
{
	plx_trace_event ev = {
	    .direction = '<',
	    .kind = msg->kind,
	    .type = msg->type,
	    .status = msg->status,
	    .request_id = msg->request_id,
	    .source = &msg->source,
	    .destination = &msg->destination,
	    .size = msg->priv->envelope_size + msg->data_size,
	    .latency_us = latency_us,
	    .wall_us = plx__wall_us(),
	};
	s_emit(ctx, &ev);
}
