/*
 * rs.h — plexus-rs's modules and the state they share (docs/reincarnation.md).
 *
 * Entry points, by file:
 * Entry points, by file, from the top down (a file calls only files listed below it):
 *   main.c      main (options, election, set-up, the loop)
 *   table.c     rs_table
 *   react.c     rs_events_drain, rs_resync (what the loop does with queued events)
 *   exit.c      do_exit, rs_on_reply
 *   manage.c    do_up, do_down, do_restart, do_refresh, do_signal, do_list
 *   adopt.c     rs_adopt
 *   nodes.c     rs_node_up, rs_node_down, rs_nodes_tick, do_power
 *   service.c   rs_svc_start, rs_svc_exited, rs_svc_ready, rs_svc_kill, rs_svc_node_died,
 *               rs_svc_start_pending, rs_svc_tick, rs_svc_finish_call, rs_svc_batch_begin,
 *               rs_svc_batch_end
 *   spare.c     rs_spare_tick, rs_spare_ready, rs_spare_activate, rs_spare_drop,
 *               rs_spare_exited, rs_spare_start_reply, rs_spare_node_died, rs_find_slot
 *   power.c     rs_power_cycle, rs_power_run, rs_power_wait
 *   events.c    rs_events_new, rs_events_destroy, rs_events_power, rs_events_take,
 *               rs_node_record_generation (the etcd watches and the event queue)
 *   publish.c   rs_publisher_new, rs_publisher_destroy, rs_publish
 *   record.c    rs_spare_state_name, rs_svc_describe, rs_svc_json
 *   pending.c   rs_pending_add, rs_pending_expire, rs_pending_take
 *   request.c   req_node_start, req_node_signal, req_node_stop, req_ping, req_node_ping
 *   etcd_users.c rs_etcd_users_setup
 *   leader.c    rs_leader_acquire, rs_leader_key, rs_leader_regain
 *   policy.c    rs_state_name, rs_state_parse, rs_after_exit, rs_backoff_ms, rs_exit_text
 *   lookup.c    rs_now_ms, rs_mono_ms, rs_find, rs_node_find (below every other file)
 */
#ifndef PLEXUS_RS_H
#define PLEXUS_RS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <plexus/cluster.h>
#include <plexus/endpoint.h>
#include <plexus/etcd.h>
#include <plexus/link_security.h>
#include <plexus/server.h>

#include "plexus/proto/node.pb-c.h"
#include "plexus/proto/rs.pb-c.h"

#define RS_LABEL          "rs"
#define RS_EVENTS_LABEL   "rs-events" /* source of RS's own notifies */
#define RS_TICK_MS        20
#define RS_NAME_MAX       64
#define RS_REASON_MAX     128
#define RS_PENDING_MAX    1024
#define RS_POWER_RETRY_MS 60000 /* a node not back this long after a power cycle: cycle again */
#define RS_POWER_ATTEMPTS 5

typedef enum rs_state {
	RS_DOWN = 0, /* the operator stopped it (or never started it) */
	RS_PENDING,  /* waiting for its dependencies or for a node to start on */
	RS_STARTING, /* NODE_START sent; not ready (its endpoint not published) yet */
	RS_UP,       /* ready: ep/<label> holds its generation */
	RS_STOPPING, /* NODE_STOP sent (service down / restart) */
	RS_BACKOFF,  /* crashed; the next start waits until due_ms */
	RS_WAITING,  /* its node died and no standby is alive: waiting for the node to rejoin */
	RS_FAILED,   /* failed during initialization, or failed under policy never */
	RS_EXITED,   /* exited on its own and the policy says not to restart */
	RS_GIVEN_UP, /* crashed max_restarts times in a row */
	RS_NSTATES
} rs_state;

typedef struct rs_config {
	char cluster_file[PATH_MAX];
	char etcd[PLX_CLUSTER_TEXT_MAX];    /* "" : the cluster file's, else the default */
	char cluster[PLX_CLUSTER_NAME_MAX]; /* "" : the cluster file's */
	char name[RS_NAME_MAX];             /* this instance, for the leader key and logs */
	char addr[16];                      /* IPv4 address peers reach RS at */
	int lease_ttl;                      /* seconds: the leader key's and ep/rs's lease */
	bool help;
} rs_config;

typedef enum rs_spare_state {
	RS_SPARE_NONE = 0, /* no spare (none declared, or the next one not started yet) */
	RS_SPARE_STARTING, /* NODE_START sent; spare/<label> not written yet */
	RS_SPARE_READY,    /* spare/<label> holds its generation: it can be activated */
	RS_SPARE_KILLED,   /* SIGKILL sent; waiting for its exit */
} rs_spare_state;

/* One service as RS manages it. */
typedef struct rs_svc {
	const plx_cluster_service *desc; /* into rs.cluster (or an older one kept alive) */
	rs_state state;
	char node[PLX_CLUSTER_NAME_MAX]; /* where it runs or will run */
	uint64_t generation;
	int64_t pid;
	uint32_t restarts;   /* restarted instances that became ready (shown) */
	uint32_t streak;     /* the same since the last stable run: the backoff exponent */
	uint32_t init_fails; /* failed initializations in a row (reset when one becomes ready) */
	bool retry_restart;  /* RS_PENDING after a start that could not be sent: start it */
	bool retry_crash;    /* again as a restart (and a counted crash restart) */
	bool as_restart;     /* the current instance was started as a restart */
	bool crash_restart;  /* ... after a crash: counts in restarts once ready */
	bool ready;
	bool etcd_user_made; /* its etcd user exists with the password RS hands its instances */
	int64_t since_ms;    /* wall clock: when the current instance started, 0 none */
	int64_t start_mono;  /* monotonic: when NODE_START went out */
	int64_t ready_mono;  /* monotonic: when it became ready */
	int64_t due_mono;    /* RS_BACKOFF: when to start again */
	int64_t alive_mono;  /* the last heartbeat reply (or ready) */
	int sick;          /* heartbeat replies in a row saying it cannot serve (IpcPing.trouble) */
	int64_t ping_mono; /* the last ping sent */
	uint64_t ping_seq;
	int64_t suspect_mono; /* silent for two periods: its node was pinged then, 0 none */
	int64_t judge_mono;   /* after network trouble: killed if still silent by then */
	bool killing;         /* RS sent SIGKILL; kill_reason says why */
	char kill_reason[RS_REASON_MAX];
	bool want_down;  /* service down in progress */
	bool then_start; /* service restart / refresh: start again once stopped */
	char last_exit[RS_REASON_MAX];
	plx_call *call;           /* an operator's request answered when this one settles */
	int64_t call_deadline;    /* monotonic */
	char slot[PLX_LABEL_MAX]; /* the active instance's node label; "": the label (request.c) */
	bool start_queued;        /* RS_STARTING inside a batch: generation and start to come */
	rs_state queued_from;     /* ... and the state it had before (logged and published) */
	/* Its warm spare (spare.c), when the cluster file declares one. */
	rs_spare_state spare;
	char spare_node[PLX_CLUSTER_NAME_MAX];
	char spare_slot[PLX_LABEL_MAX];
	uint64_t spare_gen;
	int64_t spare_pid;
	int64_t spare_start_mono;
	int64_t spare_due_mono; /* RS_SPARE_NONE: when to start the next one */
	uint32_t spare_fails;   /* spares lost in a row: the backoff exponent */
	char *spare_record;     /* RS_SPARE_READY: spare/<label> as read (its endpoint record) */
	size_t spare_record_size;
	int64_t spare_lease, spare_mod; /* ... its lease and mod revision */
} rs_svc;

typedef struct rs_node {
	char name[PLX_CLUSTER_NAME_MAX];
	bool alive;
	uint64_t generation; /* its node kernel's, from nodes/<name> */
	int power_attempts;  /* power cycles since it died */
	int64_t power_mono;  /* when the last one was asked for, 0 none */
	bool power_busy;     /* a power thread runs for it */
} rs_node;

/* An asynsend RS waits on. */
typedef enum rs_pending_kind {
	RS_P_START = 1,
	RS_P_SIGNAL,
	RS_P_STOP,
	RS_P_PING,        /* a heartbeat to the service */
	RS_P_NODE_PING,   /* to its node kernel, before calling a silent service hung */
	RS_P_SPARE_START, /* NODE_START of a warm spare */
} rs_pending_kind;
typedef struct rs_pending {
	uint64_t request_id;
	rs_pending_kind kind;
	char label[PLX_CLUSTER_NAME_MAX];
	uint64_t generation;
	int64_t sent_mono;
} rs_pending;

typedef struct rs_events rs_events;
struct rs_event;
typedef struct rs_publisher rs_publisher;

typedef struct rs {
	const rs_config *cfg;
	char cluster_name[PLX_CLUSTER_NAME_MAX];
	plx_cluster *cluster;
	plx_cluster **old; /* earlier descriptions still pointed to */
	size_t nold;
	rs_svc *svcs;
	size_t nsvcs;
	rs_node *nodes;
	size_t nnodes;
	plx_ctx *ctx;
	plx_ep *ep;
	plx_server *srv;
	plx_etcd *etcd;
	plx_lease *lease; /* the leader's: rs/leader and ep/rs hang on it */
	plx_epcache *cache;
	rs_events *events;
	rs_publisher *pub;
	rs_pending pending[RS_PENDING_MAX];
	size_t npending;
	bool leading; /* set-up done: services may be started */
	bool issues;  /* holds the trust root: issues each instance its keys */
	uint8_t root_key[PLX_TRUST_SECRET];
	int64_t regain_mono;  /* the lease died: next attempt to take the leader key again */
	int64_t trouble_mono; /* the last sign of network trouble (a node silent, lease lost) */
	int batching;         /* open batches (rs_svc_batch_begin): starts are queued */
	size_t nqueued;       /* services with start_queued */
} rs;

/* ---- lookup.c ---- */
int64_t rs_now_ms(void);  /* wall clock, Unix ms */
int64_t rs_mono_ms(void); /* monotonic ms */
rs_svc *rs_find(rs *self, const char *label);
rs_node *rs_node_find(rs *self, const char *name);

/* ---- table.c ---- */
const plx_handler *rs_table(size_t *n);

/* ---- leader.c ---- */
/* Writes the leader key path into out. */
void rs_leader_key(const char *cluster, char *out, size_t size);
/* Blocks until this instance holds cluster's leader key (a put on a fresh lease of ttl seconds
 * guarded by the key's absence), polling every 200 ms, or *stop becomes true. Returns 0 and
 * *lease, -ECANCELED (stopped) or an etcd error that persisted for 30 s. */
int rs_leader_acquire(plx_etcd *etcd, const char *cluster, const char *name, const char *addr,
                      int ttl, volatile int *stop, plx_lease **lease);
/* One attempt to take the leader key again on a fresh lease after *lease died (this instance
 * was cut off from etcd for longer than the TTL). Returns 1 and replaces *lease, 0 when another
 * instance holds the key, or an etcd error. */
int rs_leader_regain(plx_etcd *etcd, const char *cluster, const char *name, const char *addr,
                     int ttl, plx_lease **lease);

/* ---- policy.c ---- */
const char *rs_state_name(rs_state state);
/* Returns 0 and *state, or -EINVAL. */
int rs_state_parse(const char *name, rs_state *state);

/* What to do after an instance ended without the operator asking. */
typedef enum rs_action {
	RS_ACT_RESTART, /* start again after *delay_ms (0: at once) */
	RS_ACT_FAILED,  /* leave it in RS_FAILED */
	RS_ACT_EXITED,  /* leave it in RS_EXITED */
	RS_ACT_GIVE_UP, /* leave it in RS_GIVEN_UP */
} rs_action;

/* The restart decision after an unexpected end (MINIX RS's, plus policies and giving up):
 *   failure: crashed, killed, non-zero exit, hung or node death; ready: it had become ready;
 *   node_death: its node died (not the service's fault: no init-failure or give-up verdict);
 *   *streak: restarts in a row, reset to 0 when the instance ran for at least the backoff cap;
 *   *init_fails: initializations failed in a row.
 * A service that failed before it became ready is tried again after min(backoff * 2^n, cap)
 * for its n-th failed initialization, at most init_retries times, then RS_ACT_FAILED. The
 * first restart of a crash streak is immediate, later ones wait min(backoff * 2^streak, cap). */
rs_action rs_after_exit(const plx_cluster_service *desc, bool failure, bool ready, bool node_death,
                        int64_t uptime_ms, uint32_t *streak, uint32_t *init_fails,
                        int64_t *delay_ms);
/* min(backoff * 2^streak, cap), 0 for streak 0. */
int64_t rs_backoff_ms(const plx_cluster_service *desc, uint32_t streak);
/* "exit 3", "killed by signal 9", ... into out. Returns whether it was a failure. */
bool rs_exit_text(bool signaled, int status, char *out, size_t size);

/* ---- service.c ---- */
/* Starts svc on node (a new generation, PLEXUS_INIT restart when as_restart; crash: a restart
 * after a failure, counted once the instance is ready). When the request cannot even be sent
 * the service goes back to RS_PENDING and is tried again a second later. */
void rs_svc_start(rs *self, rs_svc *svc, const char *node, bool as_restart, bool crash);
/* Its instance ended (exit report, NODE_STOP reply, node death, lost start): reason says how,
 * failure whether it counts as one, node_death that its node died under it. Applies the
 * operator's wish (down, restart) or the restart policy. */
void rs_svc_exited(rs *self, rs_svc *svc, const char *reason, bool failure, bool node_death);
/* ep/<label> now holds generation. */
void rs_svc_ready(rs *self, const char *label, uint64_t generation);
/* SIGKILL through the node, remembering why. */
void rs_svc_kill(rs *self, rs_svc *svc, const char *reason);
/* Its node kernel answered a ping sent rtt_ms ago while svc was silent: kill svc if it still
 * is, unless the answer took longer than a heartbeat period (then the path to the node was
 * broken, and the silence proves nothing about the service). */
void rs_svc_node_answered(rs *self, rs_svc *svc, int64_t rtt_ms);
/* Starts every RS_PENDING service whose dependencies are up and whose node (or a standby) is
 * alive. */
void rs_svc_start_pending(rs *self);
/* Heartbeats, init time limits, backoff timers, operators' deadlines. */
void rs_svc_tick(rs *self);
/* Answers svc's waiting operator call, if any, with status. */
void rs_svc_finish_call(rs *self, rs_svc *svc, int status);
/* Queues svc's record for the registry. */
void rs_svc_publish(rs *self, rs_svc *svc);
/* Moves svc to a live node after its node died: its own if alive, else the first live standby
 * (a restart at once), else RS_WAITING. */
void rs_svc_relocate(rs *self, rs_svc *svc);
/* Opens a batch: until the matching rs_svc_batch_end, rs_svc_start queues its start (the
 * service is RS_STARTING with generation 0, not yet published). Batches nest. */
void rs_svc_batch_begin(rs *self);
/* Closes a batch; the outermost takes the generations of every queued start at once
 * (plx_generation_next_many: two etcd requests per 64 services) and sends their NODE_STARTs.
 * A start whose generation could not be taken is tried again a second later, as one alone. */
void rs_svc_batch_end(rs *self);
/* ---- spare.c ---- */
/* Starts svc's next warm spare when it is due (svc up, a spare declared, none running). */
void rs_spare_tick(rs *self, rs_svc *svc);
/* spare/<label> now holds e's record (RS_EV_SPARE_PUT). */
void rs_spare_ready(rs *self, const struct rs_event *e);
/* Activates svc's ready spare in place of the instance that just ended (one etcd transaction:
 * gen/<label> and ep/<label>). Returns true when svc is up again on it. */
bool rs_spare_activate(rs *self, rs_svc *svc);
/* SIGKILLs svc's spare, if any, and forgets it (a normal start takes its generation). */
void rs_spare_drop(rs *self, rs_svc *svc, const char *why);
/* An exit report from node kernel label from about slot's instance of generation: returns
 * true when it was a spare's (handled, or ignored when from is not the spare's node). */
bool rs_spare_exited(rs *self, const char *from, const char *slot, uint64_t generation,
                     const char *reason);
void rs_spare_start_reply(rs *self, const rs_pending *p, int status, int64_t pid);
/* Its node died: a spare there is gone. */
void rs_spare_node_died(rs *self, const char *node);
/* A new leader takes over the spare its predecessor recorded (record.c's "spare" object, may
 * be NULL): ready when spare/<label> holds its generation, else SIGKILLed and replaced. */
void rs_spare_adopt(rs *self, rs_svc *svc, const json_t *spare);
/* The service a node label names: the label itself or <label>.spare. */
rs_svc *rs_find_slot(rs *self, const char *slot);

/* ---- exit.c ---- */
int do_exit(plx_call *call);
void rs_on_reply(plx_server *server, plx_msg *msg);

/* ---- pending.c ---- */
/* Remembers an asynsend; returns 0 or -ENOSPC. */
int rs_pending_add(rs *self, uint64_t id, rs_pending_kind kind, const char *label,
                   uint64_t generation);
/* Forgets the asynsends sent before older_than_mono (their replies will not come). */
void rs_pending_expire(rs *self, int64_t older_than_mono);
/* Takes the entry of request id out into *out. Returns false when unknown. */
bool rs_pending_take(rs *self, uint64_t id, rs_pending *out);

/* ---- manage.c ---- */
int do_up(plx_call *call);
int do_down(plx_call *call);
int do_restart(plx_call *call);
int do_refresh(plx_call *call);
int do_signal(plx_call *call);
int do_list(plx_call *call);

/* ---- record.c ---- */
/* A spare's state as `plexus service list` and the svc/<label> record say it. */
const char *rs_spare_state_name(rs_spare_state s);
/* Fills an RsService (strings point into svc) for lists and records. */
void rs_svc_describe(rs_svc *svc, Plexus__RsService *out);
/* The JSON of svc's record (caller frees). */
char *rs_svc_json(rs *self, rs_svc *svc);

/* ---- nodes.c ---- */
/* RS_POWER: an operator's power cycle of a node through its backend. */
int do_power(plx_call *call);
/* nodes/<name> was written (generation of its node kernel) or deleted. */
void rs_node_up(rs *self, const char *name, uint64_t generation);
void rs_node_down(rs *self, const char *name, const char *why);
/* Power-cycle retries. */
void rs_nodes_tick(rs *self);
/* A power thread finished for node: rc 0 or an error, with a message. */
void rs_node_power_done(rs *self, const char *name, int rc, const char *msg);

/* ---- power.c ---- */
/* Starts a thread that power-cycles node through its backend and then posts the result as an
 * event. Returns 0, -ENOTSUP (power none), or an error from pthread_create. */
int rs_power_cycle(rs *self, const plx_cluster_node *node);
/* Runs the backend in the calling thread. Returns 0 or a negative errno with msg set. */
int rs_power_run(const plx_cluster_node *node, char *msg, size_t size);
/* Waits up to timeout_ms for running power threads (before the events they post to go).
 * Returns true when none runs. */
bool rs_power_wait(int timeout_ms);

/* ---- events.c ---- */
typedef enum rs_event_kind {
	RS_EV_NODE_PUT,  /* nodes/<name> written: a node kernel joined or refreshed its record */
	RS_EV_NODE_DEL,  /* nodes/<name> gone: its lease expired */
	RS_EV_EP_PUT,    /* ep/<label> written: an instance published its endpoint */
	RS_EV_SPARE_PUT, /* spare/<label> written: a warm spare is ready */
	RS_EV_POWER,     /* a power thread ended: rc and msg */
	RS_EV_RESYNC,    /* a watch may have missed changes: read everything again */
} rs_event_kind;
typedef struct rs_event {
	rs_event_kind kind;
	char name[PLX_CLUSTER_NAME_MAX]; /* node or label */
	uint64_t generation;
	int rc;
	char msg[256];
	/* RS_EV_SPARE_PUT: the spare's record as written, its lease and mod revision */
	char record[2048];
	size_t record_size;
	int64_t lease, mod_revision;
} rs_event;
/* Watches nodes/ and ep/ from now on and queues what changes, waking ep's loop with RS_EVENT.
 * Returns NULL with errno when a watch cannot start. */
rs_events *rs_events_new(plx_etcd *etcd, const char *cluster, plx_ep *ep);
void rs_events_destroy(rs_events **self_p);
/* Queues a power result (from a power thread). */
void rs_events_power(rs_events *self, const char *node, int rc, const char *msg);
/* Takes every queued event: sets *batch (caller frees) and returns their number, 0 (and
 * *batch NULL) when none is queued or memory is short (they stay queued then). */
size_t rs_events_take(rs_events *self, rs_event **batch);
/* The generation in a node record's JSON, 0 when absent. */
uint64_t rs_node_record_generation(const plx_kv *kv);

/* ---- react.c ---- */
/* Handles every queued event in the loop's thread. */
void rs_events_drain(rs *self);
/* Reads nodes/ and ep/ again and applies the differences (start-up, compaction). */
int rs_resync(rs *self);

/* ---- publish.c ---- */
rs_publisher *rs_publisher_new(plx_etcd *etcd, const char *cluster);
/* Writes what is queued, stops the thread, frees it. */
void rs_publisher_destroy(rs_publisher **self_p);
/* Queues the record (JSON) of label, replacing one still queued. */
void rs_publish(rs_publisher *self, const char *label, const char *json);

/* ---- adopt.c ---- */
/* Reads svc/ records and takes over services a previous leader ran. Returns the number
 * adopted or an etcd error. */
int rs_adopt(rs *self);

/* ---- etcd_users.c ---- */
/* At the start of a lead, when RS logs into an https etcd as root and holds the trust root:
 * an etcd user for each service (s-LABEL) and each node kernel (n-NAME) of the cluster file,
 * then etcd's authentication turned on if it is off (docs/security.md "Keys on a rack").
 * Failures are logged: those then log in as before. */
void rs_etcd_users_setup(rs *self);
/* The etcd user svc's instances log in as (s-LABEL) and its password, the user made or given
 * its password again once per RS life. False when RS does not manage etcd's users or etcd
 * refused (logged): the instance then logs in as its environment says. */
bool rs_etcd_service_user(rs *self, rs_svc *svc, char *user, size_t usize, char *pw, size_t psize);

/* ---- request.c ---- */
int req_node_start(rs *self, rs_svc *svc, const char *node, bool as_restart, uint64_t *id);
/* NODE_START of generation under the node label slot; spare: as a warm spare of svc. */
int req_node_start_as(rs *self, rs_svc *svc, const char *node, const char *slot,
                      uint64_t generation, bool as_restart, bool spare, uint64_t *id);
int req_node_signal(rs *self, rs_svc *svc, int signo, uint64_t *id);
int req_node_signal_slot(rs *self, const char *node, const char *slot, int signo, uint64_t *id);
/* The node label svc's active instance runs under: its label or <label>.spare. */
const char *rs_svc_slot(const rs_svc *svc);
int req_node_stop(rs *self, rs_svc *svc, uint64_t *id);
int req_ping(rs *self, rs_svc *svc, uint64_t *id);
int req_node_ping(rs *self, rs_svc *svc, uint64_t *id);

/* Sections of the cluster file that belong to other tools ([pxe]: plexus pxe, plexus qemu);
 * RS reads past them. */
extern const plx_cluster_opts rs_cluster_opts;

#endif
