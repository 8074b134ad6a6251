/*
 * test-qemu-fs.c — the file system under faults on a PXE-booted QEMU cluster: three VMs booting
 * by iPXE inside a network namespace (vm2 through UEFI firmware), plexus-rs in the namespace
 * placing plexus-vfs and plexus-pfs on vm1, plexus-mfs on vm2 and plexus-vdisk over a virtio
 * disk (/dev/vda, formatted once by mkfs.minix -3) on vm3. The cluster is booted once and
 * shared by two tests.
 *
 * test_power_cut: a client on the bridge host (a process of this test in the namespace,
 * through libplexus) writes files with an fsync each; after the first ones, vm3's QEMU is
 * SIGKILLed (it comes back powered off); RS power-cycles it through QMP, it netboots again,
 * vdisk comes back with a new generation, MFS and VFS recover, the writes complete, every byte
 * reads back, and the disk image itself holds each file.
 *
 * test_drill_command: the real `plexus drill`, run in the hub as an operator runs it there
 * (the cluster's etcd, keys and name, the hub's address) after `plexus sh -c 'mkdir /data'`
 * and a write, sync and cat traced with `plexus trace --nodes` (every VM's logs, each VM its
 * own clock domain, aligned from the messages):
 * kill-node (VFS's node vm1 power-cycled by RS through QMP) and kill-driver (vdisk killed by
 * RS through vm3's node kernel), each with two writers; each JSON report must say passed, the
 * fault detected and the service restarted as a newer generation, every acknowledged file
 * verified and none lost (the drill's own fsck is skipped: the disk is inside vm3). Then the
 * cluster stops in order (the services through RS, MFS writing its cache back as it stops,
 * then each VM's power button) and, with vm3's QEMU gone, fsck.minix -f checks the disk
 * image itself: it must be clean.
 *
 * Entry points: main.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <plexus/etcd.h>
#include <plexus/image.h>
#include <plexus/plexus.h>
#include <plexus/qemu.h>

#include "deploy_paths.h"
#include "netns_harness.h"

#define FILES      8
#define FILE_BYTES (192 * 1024)
#define CHUNK      (16 * 1024)
#define KILL_AFTER 2 /* files written before vm3 is killed */

static char s_image[] = "/tmp/plexus-test-fsimage-XXXXXX";

static void s_rm_rf(const char *dir)
{
	char *argv[] = {"rm", "-rf", (char *)dir, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static int64_t s_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct drill {
	plx_qcluster *c;
	pid_t client; /* the power cut's client, or 0 */
	pid_t cli;    /* a plexus command running in the hub (its process group), or 0 */
	bool ok;      /* the running test got to its end */
	bool failed;  /* a test did not: the cluster's logs are kept */
} drill;

/* The image with plexus-node and the file system's programs. */
static int s_image_build(void)
{
	if (!mkdtemp(s_image))
		return -1;
	static const char *const bins[] = {PLEXUS_NODE_BIN, PLEXUS_OPTIONAL_BINS};
	plx_image_opts o = {
	    .out_dir = s_image, .init = PLEXUS_INIT_BIN, .udhcpc_sh = PLEXUS_UDHCPC_SH};
	size_t n = 0;
	for (size_t i = 0; i < sizeof bins / sizeof *bins; i++)
		if (bins[i][0] && access(bins[i], X_OK) == 0)
			o.programs[n++] = bins[i];
	bool fs = false;
	for (size_t i = 0; i < n; i++)
		fs = fs || strstr(o.programs[i], "plexus-vfs");
	if (!fs) {
		print_error("plexus-vfs is not built\n");
		return -1;
	}
	char err[1024];
	if (plx_image_build(&o, NULL, err, sizeof err) < 0) {
		print_error("image build: %s\n", err);
		return -1;
	}
	return 0;
}

/* The image, then the cluster both tests share (no VM started yet): the boot is the
 * expensive part. */
static int group_setup(void **state)
{
	if (s_image_build() < 0)
		return -1;
	drill *f = calloc(1, sizeof *f);
	char services[2048], err[1024];
	int disk = plx_qcluster_fs_services(3, services, sizeof services);
	plx_qcluster_opts o = {.nodes = 3,
	                       .image = s_image,
	                       .memory_mb = 384,
	                       .services = services,
	                       .cli = PLEXUS_CLI_BIN,
	                       .etcd_members = 3};
	o.disks[disk] = "64M";
	if (!f || !(f->c = plx_qcluster_new(&o, err, sizeof err))) {
		print_error("qemu cluster: %s\n", err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	drill *f = *state;
	if (f && f->failed) {
		plx_qcluster_failed(f->c);
		print_error("logs kept in %s\n", plx_qcluster_dir(f->c));
	}
	if (f)
		plx_qcluster_destroy(&f->c);
	free(f);
	s_rm_rf(s_image);
	return 0;
}

/* Kills and reaps a child this test started (with its process group when group), if any. */
static void s_reap(pid_t *pid, bool group)
{
	if (*pid <= 0)
		return;
	if (group)
		kill(-*pid, SIGKILL);
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

/* After each test, passed or not: no process of it outlives it. */
static int test_teardown(void **state)
{
	drill *f = *state;
	s_reap(&f->client, false);
	s_reap(&f->cli, true);
	f->failed = f->failed || !f->ok;
	f->ok = false;
	return 0;
}

/* A service's record as RS writes it: state and generation. */
typedef struct s_svc {
	const char *etcd, *cluster, *label;
	char state[32];
	int64_t generation;
} s_svc;

static int s_svc_read(void *arg)
{
	s_svc *s = arg;
	plx_etcd_opts eo = {.endpoints = s->etcd, .timeout_ms = 2000};
	plx_etcd *e = plx_etcd_new(&eo);
	if (!e)
		return -ENOMEM;
	char key[256];
	snprintf(key, sizeof key, "/plexus/%s/svc/%s", s->cluster, s->label);
	plx_kv *kv = NULL;
	int r = plx_etcd_get(e, key, &kv);
	s->state[0] = '\0';
	s->generation = 0;
	if (r == 0) {
		const char *v = (const char *)kv->value;
		const char *st = strstr(v, "\"state\":");
		const char *g = strstr(v, "\"generation\":");
		if (st && (st = strchr(st + 8, '"')))
			snprintf(s->state, sizeof s->state, "%.*s", (int)strcspn(st + 1, "\""),
			         st + 1);
		if (g)
			s->generation = strtoll(g + strlen("\"generation\":"), NULL, 10);
	}
	plx_kv_free(&kv);
	plx_etcd_destroy(&e);
	return r;
}

/* Waits until service label is up with a generation above after. Returns the generation or
 * -ETIMEDOUT. */
static int64_t s_wait_svc(drill *f, const char *label, int64_t after, int timeout_ms)
{
	s_svc s = {
	    .etcd = plx_qcluster_etcd(f->c), .cluster = plx_qcluster_name(f->c), .label = label};
	int64_t deadline = s_now_ms() + timeout_ms;
	do {
		if (netns_call(plx_qcluster_netns(f->c), NETNS_HUB, s_svc_read, &s) == 0 &&
		    strcmp(s.state, "up") == 0 && s.generation > after)
			return s.generation;
		usleep(250000);
	} while (s_now_ms() < deadline);
	print_error("service %s: state '%s', generation %lld (waited for > %lld)\n", label, s.state,
	            (long long)s.generation, (long long)after);
	return -ETIMEDOUT;
}

static void s_fill(unsigned char *buf, int file, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)((off + i) * 31 + (size_t)file * 7 + ((off + i) >> 9));
	if (off == 0) /* a marker the raw disk image must hold */
		snprintf((char *)buf, 64, "plexus-drill-file-%d-marker", file);
}

static int s_fail(const char *step, int file)
{
	fprintf(stderr, "drill client: %s (file %d): %s\n", step, file, strerror(errno));
	return 1;
}

/* The client: runs in its own process, in the hub's namespace. Tells the test through
 * signal_fd when KILL_AFTER files are on disk. Returns the exit status. */
static int s_client(drill *f, int signal_fd)
{
	netns_cluster *nc = plx_qcluster_netns(f->c);
	int ns = open(netns_ns_path(nc, NETNS_HUB), O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
		return s_fail("setns", -1);
	setenv("PLEXUS_ADDR", netns_hub_addr(nc), 1);
	plexus_opts o;
	plexus_opts_init(&o);
	o.etcd = plx_qcluster_etcd(f->c);
	o.cluster = plx_qcluster_name(f->c);
	o.node = "hub";
	o.name = "drill";
	o.timeout_ms = 600000; /* a call may wait for a whole VM reboot */
	plexus *p = NULL;
	for (int64_t deadline = s_now_ms() + 120000; !p && s_now_ms() < deadline;)
		if (!(p = plexus_connect(&o)))
			usleep(500000);
	if (!p)
		return s_fail("connect", -1);
	if (plexus_mkdir(p, "/drill", 0755) < 0 && errno != EEXIST)
		return s_fail("mkdir /drill", -1);
	static unsigned char buf[CHUNK], got[CHUNK];
	int64_t t0 = s_now_ms();
	for (int k = 0; k < FILES; k++) {
		char path[64];
		snprintf(path, sizeof path, "/drill/f%d", k);
		int fd = plexus_open(p, path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		if (fd < 0)
			return s_fail("open for writing", k);
		for (size_t off = 0; off < FILE_BYTES; off += CHUNK) {
			s_fill(buf, k, off, CHUNK);
			if (plexus_write(p, fd, buf, CHUNK) != CHUNK)
				return s_fail("write", k);
		}
		if (plexus_fsync(p, fd) < 0)
			return s_fail("fsync", k);
		if (plexus_close(p, fd) < 0)
			return s_fail("close", k);
		fprintf(stderr, "drill client: /drill/f%d written and synced at %.1f s\n", k,
		        (double)(s_now_ms() - t0) / 1000);
		if (k + 1 == KILL_AFTER && write(signal_fd, "k", 1) != 1)
			return s_fail("signal", k);
	}
	if (plexus_sync(p) < 0)
		return s_fail("sync", -1);
	for (int k = 0; k < FILES; k++) {
		char path[64];
		snprintf(path, sizeof path, "/drill/f%d", k);
		struct stat st;
		if (plexus_stat(p, path, &st) < 0 || st.st_size != FILE_BYTES)
			return s_fail("stat (size)", k);
		int fd = plexus_open(p, path, O_RDONLY);
		if (fd < 0)
			return s_fail("open for reading", k);
		for (size_t off = 0; off < FILE_BYTES; off += CHUNK) {
			s_fill(buf, k, off, CHUNK);
			if (plexus_read(p, fd, got, CHUNK) != CHUNK)
				return s_fail("read", k);
			if (memcmp(buf, got, CHUNK) != 0) {
				errno = EILSEQ;
				return s_fail("verify", k);
			}
		}
		plexus_close(p, fd);
	}
	plexus_disconnect(&p);
	return 0;
}

/* True when the raw image holds text. */
static bool s_image_has(const char *path, const char *text)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	bool found = memmem(m, (size_t)st.st_size, text, strlen(text)) != NULL;
	munmap(m, (size_t)st.st_size);
	return found;
}

static void test_power_cut(void **state)
{
	drill *f = *state;
	const char *dir = plx_qcluster_dir(f->c);
	assert_int_equal(plx_qcluster_start_vm(f->c, 0, false), 0);
	assert_int_equal(plx_qcluster_start_vm(f->c, 1, true), 0); /* OVMF */
	assert_int_equal(plx_qcluster_start_vm(f->c, 2, false), 0);
	assert_int_equal(plx_qcluster_wait_nodes(f->c, 0x7, 600000), 0);
	int64_t node3 = 0;
	assert_int_equal(plx_qcluster_node_generation(f->c, 2, &node3), 0);

	assert_int_equal(plx_qcluster_start_rs(f->c, PLEXUS_RS_BIN, "rs-drill"), 0);
	int64_t vdisk = s_wait_svc(f, "vdisk", 0, 300000);
	assert_true(vdisk > 0);
	assert_true(s_wait_svc(f, "mfs", 0, 300000) > 0);
	assert_true(s_wait_svc(f, "pfs", 0, 300000) > 0);
	assert_true(s_wait_svc(f, "vfs", 0, 300000) > 0);

	int fds[2];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	f->client = fork();
	if (f->client == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		_exit(s_client(f, fds[1]));
	}
	close(fds[1]);
	char k = 0;
	ssize_t n;
	while ((n = read(fds[0], &k, 1)) < 0 && errno == EINTR)
		continue;
	close(fds[0]);
	assert_int_equal(n, 1); /* else the client failed before the kill: its message says */

	/* the power cut: vm3's QEMU SIGKILLed, back powered off; RS switches it on by QMP */
	char hub_log[512];
	snprintf(hub_log, sizeof hub_log, "%s/hub.log", dir);
	assert_int_equal(plx_qcluster_kill_vm(f->c, 2), 0);
	print_message("vm3's QEMU killed; it waits, powered off, for RS\n");
	assert_int_equal(
	    plx_wait_file_text(hub_log, "node vm3: power cycle 1 through qemu", 120000), 0);
	int64_t again = 0, deadline = s_now_ms() + 600000;
	while ((plx_qcluster_node_generation(f->c, 2, &again) != 0 || again <= node3) &&
	       s_now_ms() < deadline)
		usleep(250000);
	assert_true(again > node3);
	int64_t vdisk2 = s_wait_svc(f, "vdisk", vdisk, 300000);
	assert_true(vdisk2 > vdisk);
	print_message("vm3 netbooted again (node generation %lld -> %lld), vdisk generation "
	              "%lld -> %lld\n",
	              (long long)node3, (long long)again, (long long)vdisk, (long long)vdisk2);

	/* the client finishes: every write synced, every byte read back */
	int status = -1;
	deadline = s_now_ms() + 900000;
	pid_t w = 0;
	while ((w = waitpid(f->client, &status, WNOHANG)) == 0 && s_now_ms() < deadline)
		usleep(250000);
	assert_int_equal(w, f->client);
	f->client = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* the bytes are on vm3's disk, through the restarted vdisk */
	for (int i = 0; i < FILES; i++) {
		char marker[64];
		snprintf(marker, sizeof marker, "plexus-drill-file-%d-marker", i);
		assert_true(s_image_has(plx_qcluster_disk(f->c, 2), marker));
	}
	/* vm3 booted twice, the second time by RS's power cycle */
	char vm3_log[512];
	snprintf(vm3_log, sizeof vm3_log, "%s/vm3.log", dir);
	FILE *fp = fopen(vm3_log, "r");
	assert_non_null(fp);
	char line[1024];
	int inits = 0;
	while (fgets(line, sizeof line, fp))
		inits += strstr(line, "plexus-boot: init: plexus-init on vm3") != NULL;
	fclose(fp);
	assert_true(inits >= 2); /* RS cycles again after 60 s when a loaded host boots it slower */
	assert_int_equal(plx_wait_file_text(hub_log, "node vm3: power cycled", 0), 0);
	f->ok = true;
}

/* Starts this build's plexus command with args in the hub, as an operator runs it there: the
 * cluster's etcd and name, the hub's address for its clients' endpoints, and its keys
 * (PLEXUS_KEYS, which plx_qcluster_new set in this process); no PLEXUS_STATE_DIR, so nothing
 * of a plexus up on this machine is taken for the cluster's. Its stdout goes to out (NULL:
 * this test's stderr). It leads a process group of its own, noted in f->cli for the teardown.
 * Returns 0 or -1. */
static int s_cli_start(drill *f, char *const args[], const char *out)
{
	netns_cluster *nc = plx_qcluster_netns(f->c);
	f->cli = fork();
	if (f->cli != 0)
		return f->cli > 0 ? 0 : -1;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	int ns = open(netns_ns_path(nc, NETNS_HUB), O_RDONLY | O_CLOEXEC);
	int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0 || fd < 0 || dup2(fd, 1) < 0)
		_exit(126);
	setenv("PLEXUS_ETCD", plx_qcluster_etcd(f->c), 1);
	setenv("PLEXUS_CLUSTER", plx_qcluster_name(f->c), 1);
	setenv("PLEXUS_ADDR", netns_hub_addr(nc), 1);
	unsetenv("PLEXUS_STATE_DIR");
	execv(PLEXUS_CLI_BIN, args);
	_exit(127);
}

/* Runs the command as s_cli_start does, for up to timeout_ms (then its group is killed).
 * Returns its exit status, or -1 when it did not exit by itself. */
static int s_cli_run(drill *f, char *const args[], const char *out, int timeout_ms)
{
	if (s_cli_start(f, args, out) < 0)
		return -1;
	int status = -1;
	pid_t w = 0;
	for (int64_t deadline = s_now_ms() + timeout_ms;
	     (w = waitpid(f->cli, &status, WNOHANG)) == 0 && s_now_ms() < deadline;)
		usleep(100000);
	if (w != f->cli) {
		print_error("%s %s: no end after %d s: killed\n", args[1], args[2],
		            timeout_ms / 1000);
		s_reap(&f->cli, true);
		return -1;
	}
	f->cli = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static json_int_t s_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* `plexus drill SCENARIO --writers 2 --json` in the hub; checks its report: it passed (exit 0:
 * besides what is checked here, a writer's call succeeded after the restart), one fault on
 * label, sent how, detected and restarted as a newer generation, the writers' files all
 * verified and none lost, no call hung, every service up, and fsck skipped (the drill knows
 * no image of /data: the disk is inside vm3; s_fsck_data checks it once vm3 is off). Prints
 * the figures. */
static void s_drill(drill *f, const char *scenario, const char *label, const char *how)
{
	char out[PATH_MAX];
	snprintf(out, sizeof out, "%s/drill-%s.json", plx_qcluster_dir(f->c), scenario);
	char *args[] = {PLEXUS_CLI_BIN, "drill", (char *)scenario, "--writers", "2",
	                "--timeout",    "300",   "--json",         NULL};
	int64_t t0 = s_now_ms();
	int code = s_cli_run(f, args, out, 420000);
	json_error_t e;
	json_t *o = json_load_file(out, 0, &e);
	if (!o || code != 0) {
		char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
		print_error("plexus drill %s: exit %d, report: %s\n", scenario, code,
		            text ? text : e.text);
		free(text);
	}
	assert_non_null(o);
	assert_int_equal(code, 0);
	assert_true(json_is_true(json_object_get(o, "passed")));
	json_t *faults = json_object_get(o, "faults");
	assert_int_equal(json_array_size(faults), 1);
	json_t *fault = json_array_get(faults, 0);
	assert_string_equal(json_string_value(json_object_get(fault, "service")), label);
	assert_string_equal(json_string_value(json_object_get(fault, "how")), how);
	assert_null(json_object_get(fault, "error"));
	json_int_t injected = s_int(fault, "injected_ms"), detected = s_int(fault, "detected_ms");
	json_int_t restarted = s_int(fault, "restarted_ms"), first = s_int(fault, "first_ok_ms");
	assert_true(injected >= 0 && detected >= injected && restarted >= detected);
	/* after a power cycle, the first success counts from the detection: no call served by
	 * the old VFS before QMP's reset landed */
	assert_true(first >= (strcmp(how, "power cycle by RS") == 0 ? detected : injected));
	assert_true(s_int(fault, "new_generation") > s_int(fault, "generation"));
	json_t *data = json_object_get(o, "data");
	json_int_t files = s_int(data, "files"), verified = s_int(data, "verified");
	assert_true(files > 0);
	assert_int_equal(verified, files);
	assert_int_equal(s_int(data, "lost"), 0);
	assert_int_equal(s_int(json_object_get(o, "clients"), "hung"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "services_not_back")), "");
	const char *fsck = json_string_value(json_object_get(o, "fsck"));
	assert_non_null(fsck);
	assert_true(strncmp(fsck, "skipped", 7) == 0);
	print_message("plexus drill %s (%s): detected +%lld ms, restarted +%lld ms, first client "
	              "success +%lld ms; %lld files verified, 0 lost; %lld calls; %.1f s in all\n",
	              scenario, how, (long long)(detected - injected),
	              (long long)(restarted - injected), (long long)(first - injected),
	              (long long)verified, (long long)s_int(json_object_get(o, "clients"), "calls"),
	              (double)(s_now_ms() - t0) / 1000);
	json_decref(o);
}

/* `plexus drill kill-etcd-member --writers 2 --json` in the hub: the leading member of the
 * hub's three is a process there; the drill kills it and for two lease TTLs no service may
 * restart. Checks it passed with no client call failed or hung and nothing lost. */
static void s_drill_etcd(drill *f)
{
	char out[PATH_MAX];
	snprintf(out, sizeof out, "%s/drill-kill-etcd-member.json", plx_qcluster_dir(f->c));
	char *args[] = {PLEXUS_CLI_BIN, "drill", "kill-etcd-member", "--writers", "2",
	                "--timeout",    "300",   "--json",           NULL};
	int code = s_cli_run(f, args, out, 420000);
	json_error_t e;
	json_t *o = json_load_file(out, 0, &e);
	if (!o || code != 0) {
		char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
		print_error("plexus drill kill-etcd-member: exit %d, report: %s\n", code,
		            text ? text : e.text);
		free(text);
	}
	assert_non_null(o);
	assert_int_equal(code, 0);
	assert_true(json_is_true(json_object_get(o, "passed")));
	json_t *fault = json_array_get(json_object_get(o, "faults"), 0);
	assert_non_null(fault);
	assert_null(json_object_get(fault, "error"));
	assert_true(strstr(json_string_value(json_object_get(fault, "service")), "(leader)"));
	json_t *clients = json_object_get(o, "clients"), *data = json_object_get(o, "data");
	assert_int_equal(s_int(clients, "failed"), 0);
	assert_int_equal(s_int(clients, "hung"), 0);
	assert_true(s_int(data, "files") > 0);
	assert_int_equal(s_int(data, "verified"), s_int(data, "files"));
	assert_int_equal(s_int(data, "lost"), 0);
	print_message("plexus drill kill-etcd-member (%s): %lld files verified, 0 lost; %lld "
	              "calls, none failed\n",
	              json_string_value(json_object_get(fault, "service")),
	              (long long)s_int(data, "verified"), (long long)s_int(clients, "calls"));
	json_decref(o);
}

/* Runs argv with its output into the file out. Returns its exit status, or -1. */
static int s_run_into(char *const argv[], const char *out)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = -1;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Prints the file at path (at most 4 KiB of it) through cmocka. */
static void s_print_file(const char *what, const char *path)
{
	char text[4096] = "";
	FILE *fp = fopen(path, "re");
	size_t n = fp ? fread(text, 1, sizeof text - 1, fp) : 0;
	text[n] = '\0';
	if (fp)
		fclose(fp);
	print_message("%s:\n%s", what, text);
}

/* Stops the cluster in order and checks /data's image where vm3 left it. The stop is
 * plx_qcluster_shutdown: the services down through RS, dependents first (MFS, stopping while
 * mounted, writes every dirty block back through vdisk, which stops after it), RS, then each
 * VM's power button, waiting for its QEMU to end. Only then is the image still: fsck.minix
 * -f without -a or -r opens it read-only (util-linux's check mode; it has no -n), and must
 * find it clean (exit 0). The stop's steps and fsck's output (-v: its counts of inodes,
 * zones and files) are printed. No sync is asked for first: MFS's write-back as it stops is
 * the one this checks, and runs here found the image clean without one. */
static void s_fsck_data(drill *f)
{
	char steps[PATH_MAX], out[PATH_MAX];
	snprintf(steps, sizeof steps, "%s/shutdown.out", plx_qcluster_dir(f->c));
	snprintf(out, sizeof out, "%s/fsck-data.out", plx_qcluster_dir(f->c));
	FILE *fp = fopen(steps, "we");
	assert_non_null(fp);
	plx_qcluster_shutdown(f->c, PLEXUS_CLI_BIN, fp);
	fclose(fp);
	s_print_file("the cluster stopped", steps);
	assert_int_equal(plx_qcluster_vm_pid(f->c, 2), 0);
	assert_int_equal(plx_wait_file_text(steps, "vm3    powered off", 0), 0); /* not killed */
	char *fsck[] = {"fsck.minix", "-f", "-v", (char *)plx_qcluster_disk(f->c, 2), NULL};
	int rc = s_run_into(fsck, out);
	print_message("fsck.minix -f -v %s: exit %d\n", plx_qcluster_disk(f->c, 2), rc);
	s_print_file("its output", out);
	assert_int_equal(rc, 0);
}

/* `plexus trace --nodes` from the hub, as an operator runs it there (docs/trace.md "From the
 * nodes"): a write, a sync and a cat traced, the trace lines asked of each VM's node kernel
 * (NODE_TRACE_READ; each VM keeps its own logs and has its own clock). The Mermaid text must
 * have VFS's, MFS's and vdisk's lifelines with the calls going down to the disk in causal
 * order, and one clock domain per VM, each linked to the others by the messages (offset and
 * uncertainty, no "not linked"). */
static void s_trace_nodes(drill *f)
{
	char mmd[PATH_MAX], text[65536] = "";
	snprintf(mmd, sizeof mmd, "%s/trace.mmd", plx_qcluster_dir(f->c));
	char *trace[] = {PLEXUS_CLI_BIN,
	                 "trace",
	                 "--nodes",
	                 "--hide",
	                 "IPC_PING,RS_EVENT",
	                 "--format",
	                 "mermaid",
	                 "-o",
	                 mmd,
	                 "--",
	                 PLEXUS_CLI_BIN,
	                 "sh",
	                 "-c",
	                 "echo traced > /data/traced; sync; cat /data/traced",
	                 NULL};
	assert_int_equal(s_cli_run(f, trace, NULL, 300000), 0);
	FILE *fp = fopen(mmd, "re");
	assert_non_null(fp);
	text[fread(text, 1, sizeof text - 1, fp)] = '\0';
	fclose(fp);
	print_message("plexus trace --nodes: %zu bytes of Mermaid, ending:\n%s\n", strlen(text),
	              strlen(text) > 1500 ? text + strlen(text) - 1500 : text);
	static const char *const want[] = {"sequenceDiagram\n",
	                                   " as vfs\n",
	                                   " as mfs\n",
	                                   " as vdisk\n",
	                                   ": VFS_OPEN\n",
	                                   ": FS_SYNC\n",
	                                   ": BDEV_WRITE\n",
	                                   "%% clock node vm1: offset ",
	                                   "%% clock node vm2: offset ",
	                                   "%% clock node vm3: offset ",
	                                   NULL};
	for (const char *const *w = want; *w; w++)
		if (!strstr(text, *w))
			fail_msg("the traced diagram has no %s", *w);
	assert_null(strstr(text, "(not linked)"));
	/* in causal order although the VMs' clocks differ (by hundreds of ms under TCG): the
	 * sync goes down to MFS, which writes and flushes the disk, and only then is answered */
	const char *at = text;
	static const char *const order[] = {
	    ": VFS_SYNC\n", ": FS_SYNC\n", ": BDEV_WRITE\n", ": BDEV_FLUSH\n", ": FS_SYNC\n",
	    ": VFS_SYNC\n", NULL};
	for (const char *const *o = order; *o; at += strlen(*o), o++)
		if (!(at = strstr(at, *o)))
			fail_msg("the traced diagram has no %s where the sync should have it", *o);
}

/* The real `plexus drill` on the cluster, run from the hub as docs/drills.md says: /data made
 * first (the root is mfs and nothing is mounted there), then kill-node — vm1, VFS's node,
 * power-cycled by RS through QMP; it netboots again and RS starts vfs and pfs there —,
 * kill-driver, vdisk on vm3 killed by RS through its node kernel (the drill's machine cannot
 * signal a VM's process), and partition — vm1's link (its tap on the hub's bridge) cut until
 * RS gave its verdict and 10 s more, then mended, vm1 back with a new node kernel generation;
 * then the cluster stops and fsck.minix checks vm3's disk image (the last test: the cluster
 * is off afterwards). */
static void test_drill_command(void **state)
{
	drill *f = *state;
	int64_t t0 = s_now_ms();
	static const char *const labels[] = {"vdisk", "mfs", "pfs", "vfs"};
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
		assert_true(s_wait_svc(f, labels[i], 0, 300000) > 0);
	char *mkdata[] = {PLEXUS_CLI_BIN, "sh", "-c", "mkdir /data", NULL};
	assert_int_equal(s_cli_run(f, mkdata, NULL, 120000), 0);
	s_trace_nodes(f);
	s_drill(f, "kill-node", "vfs", "power cycle by RS");
	/* the VM netbooted again under TCG: its services settle before the next fault */
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
		assert_true(s_wait_svc(f, labels[i], 0, 300000) > 0);
	s_drill(f, "kill-driver", "vdisk", "through RS");
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
		assert_true(s_wait_svc(f, labels[i], 0, 300000) > 0);
	/* vm1's tap in the hub is its link: no standby for vfs, so RS power-cycles vm1, which
	 * netboots once the drill mended the link, and vfs comes back there */
	s_drill(f, "partition", "vfs", "link tap0 cut");
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
		assert_true(s_wait_svc(f, labels[i], 0, 300000) > 0);
	s_drill_etcd(f); /* the last: the member stays dead */
	print_message("the drills: %.1f s\n", (double)(s_now_ms() - t0) / 1000);
	s_fsck_data(f);
	print_message("the drill test: %.1f s\n", (double)(s_now_ms() - t0) / 1000);
	f->ok = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_power_cut, test_teardown),
	    cmocka_unit_test_teardown(test_drill_command, test_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
