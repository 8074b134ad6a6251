/*
 * trace.h — the model of `plexus trace`: trace lines parsed into events, events paired into
 * messages, clock domains with their estimated offsets, and the renderers.
 *
 * Entry points:
 *   parse.c:  tr_trace_new, tr_trace_destroy, tr_domain_add, tr_known_add, tr_parse_line,
 *             tr_parse_stream, tr_parse_path
 *   align.c:  tr_pair, tr_align
 *   order.c:  tr_msg_event, tr_apply_offsets, tr_window, tr_hide, tr_lifelines
 *   save.c:   tr_save, tr_load
 *   errno.c:  tr_errno_name
 *   render_svg.c:     tr_render_svg, tr_render_html
 *   render_mermaid.c: tr_render_mermaid
 *   render_plantuml.c: tr_render_plantuml
 *   cli.c:    plx_trace_cli (plexus/trace_cli.h)
 *
 * A trace owns all it holds; tr_trace_destroy frees it. Functions return 0 or a negative
 * errno; input they cannot read as a trace line is skipped and counted, never fatal.
 */
#ifndef PLEXUS_TRACE_H
#define PLEXUS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TR_LABEL_MAX 64
#define TR_TYPE_MAX  48

typedef enum tr_kind { TR_REQUEST, TR_REPLY, TR_NOTIFY } tr_kind;

/* One trace line: one side of one message. */
typedef struct tr_event {
	int domain; /* the clock domain (index into tr_trace.domains) */
	char dir;   /* '>' sent, '<' received */
	tr_kind kind;
	char type[TR_TYPE_MAX]; /* the name the writer knew ("?" when none) */
	uint32_t type_num;
	char src[TR_LABEL_MAX];
	uint64_t src_gen;
	char dst[TR_LABEL_MAX];
	uint64_t dst_gen;
	uint64_t id;
	uint64_t size;
	int32_t status;
	uint64_t latency_us;
	int64_t t;  /* the writer's wall clock, µs */
	int64_t at; /* t on the reference domain's clock (tr_align) */
} tr_event;

/* One message: its send and receive events (either may be missing: -1). */
typedef struct tr_msg {
	int send, recv;
	int reply_to; /* a reply: the message of its request, or -1 */
	int64_t at;   /* when it happened on the reference clock: the send, else the receive */
	bool dead;    /* never received, and its destination's generation was replaced */
} tr_msg;

/* A clock domain: a log directory (one node), or the lines of a command. */
typedef struct tr_domain {
	char name[256];
	int64_t offset;      /* local clock minus the reference clock, µs */
	int64_t uncertainty; /* ± µs; -1: unbounded (one direction only); 0 for the reference */
	bool aligned;        /* false: no message links it to the reference (offset 0) */
} tr_domain;

/* A label's generation when the window opened (the endpoint table, read by `-- COMMAND`): a
 * label whose first message shows a newer one restarted inside the window. */
typedef struct tr_gen {
	char label[TR_LABEL_MAX];
	uint64_t gen;
} tr_gen;

/* A mark on a lifeline: a label seen with a newer generation (a restart, in notes), or the
 * end of the generation it replaced (in ends): drawn after the last message that generation
 * sent or received, or at the top when it took part in none. */
typedef struct tr_note {
	size_t before; /* drawn before this message (nmsgs: at the end) */
	char label[TR_LABEL_MAX];
	uint64_t gen;  /* a restart: the new generation; an end: the generation that ended */
	uint64_t prev; /* a restart: the generation it replaced; an end: 0 */
} tr_note;

typedef struct tr_trace {
	tr_event *events;
	size_t nevents, events_cap;
	tr_msg *msgs;
	size_t nmsgs;
	tr_domain *domains;
	size_t ndomains;
	tr_note *notes; /* restarts, in message order */
	size_t nnotes;
	tr_note *ends; /* the generations the restarts replaced, in message order */
	size_t nends;
	tr_gen *known; /* generations when the window opened (may be none) */
	size_t nknown;
	size_t skipped; /* trace lines that could not be read */
	size_t untimed; /* trace lines without t= (written before it existed) */
} tr_trace;

/* A new empty trace (caller destroys), or NULL without memory. */
tr_trace *tr_trace_new(void);
void tr_trace_destroy(tr_trace **self_p);

/* Adds a clock domain named name (or finds it). Returns its index or -ENOMEM. */
int tr_domain_add(tr_trace *self, const char *name);

/* Records label's generation when the window opened. Returns 0 or -ENOMEM. */
int tr_known_add(tr_trace *self, const char *label, uint64_t gen);

/* Reads one log line into *ev (domain left alone). Returns 1 for a trace line, 0 for a line
 * that is no trace line at all, -EINVAL for a trace line that cannot be read, -ENODATA for
 * one without t=. Trace lines are at most 4095 bytes. */
int tr_parse_line(const char *line, tr_event *ev);

/* Adds the trace lines of stream in to the trace in domain; counts the bad ones. Returns 0 or
 * -ENOMEM. */
int tr_parse_stream(tr_trace *self, FILE *in, int domain);

/* Adds a log file (its directory is its domain) or every *.log file of a directory (one
 * domain). Returns 0, or a negative errno when path cannot be read. */
int tr_parse_path(tr_trace *self, const char *path);

/* Pairs the events into messages (sender and receiver sides, requests with replies). Returns
 * 0 or -ENOMEM. */
int tr_pair(tr_trace *self);

/* Estimates each domain's offset from the paired messages (docs/trace.md "Clock
 * alignment") against the domain with the most events, then sets every event's at and every
 * message's at and sorts the messages by it. Call after tr_pair. Returns 0 or -ENOMEM. */
int tr_align(tr_trace *self);

/* Recomputes at from the domains' offsets, sorts the messages, links replies to requests,
 * marks dead messages, restarts and the ends of the generations they replaced (tr_align and
 * tr_load end with it). Returns 0 or -ENOMEM. */
int tr_apply_offsets(tr_trace *self);

/* Keeps only the messages with since <= at <= until (INT64_MIN/INT64_MAX: open) and the
 * events they hold. Returns 0 or -ENOMEM. */
int tr_window(tr_trace *self, int64_t since, int64_t until);

/* Drops the messages whose type is one of the comma-separated names of types (a request and
 * its reply alike: e.g. "IPC_PING,RS_EVENT", RS's heartbeats). Returns 0 or -ENOMEM. */
int tr_hide(tr_trace *self, const char *types);

/* Writes the trace (events, domains with offsets, counts) in the save format, version 1.
 * Returns 0 or -EIO. */
int tr_save(const tr_trace *self, FILE *out);

/* Reads a saved trace (caller destroys *trace_p), paired and aligned as it was saved.
 * Returns 0, -EINVAL (not a saved trace or another version) or -ENOMEM. */
int tr_load(FILE *in, tr_trace **trace_p);

/* The lifelines: labels in order of first appearance (caller frees the array, not the
 * strings, which point into the trace). Returns the count or -ENOMEM. */
int tr_lifelines(const tr_trace *self, const char ***labels_p);

/* The event that names a message (its send, else its receive). */
const tr_event *tr_msg_event(const tr_trace *self, const tr_msg *m);

/* The renderers: deterministic, a function of the trace alone. Return 0 or -EIO/-ENOMEM. */
int tr_render_svg(const tr_trace *self, FILE *out);
int tr_render_html(const tr_trace *self, FILE *out);
int tr_render_mermaid(const tr_trace *self, FILE *out);
int tr_render_plantuml(const tr_trace *self, FILE *out);

/* "ENOENT" for -2 and so on ("E?" when unknown). */
const char *tr_errno_name(int32_t status);

#endif
