/*
 * test-rs-units.c — RS's parts that need no cluster: the restart decision (policy.c: MINIX's
 * immediate first restart then binary exponential backoff with a cap, the streak reset after a
 * stable run, giving up, init failures, the three policies, node deaths) and the power
 * backends run in-process (power.c, qmp.c): the netns request file, the command template
 * (expansion, exit status, time limit killing its process group), and QMP against a peer
 * speaking QEMU's documented protocol from a thread (QEMU itself is not installed here: the
 * deploy tests drive a real one).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "plexus/qmp.h"
#include "rs.h"

/* power.c posts results to the loop and reads the clocks of main.c; these stand in. */
void rs_events_power(rs_events *self, const char *node, int rc, const char *msg)
{
	(void)self;
	(void)node;
	(void)rc;
	(void)msg;
}

int64_t rs_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- policy ---- */

static plx_cluster_service s_desc(plx_restart_policy policy)
{
	plx_cluster_service d = {
	    .restart = policy, .backoff_ms = 100, .backoff_cap_ms = 1000, .max_restarts = 4};
	return d;
}

static void test_backoff(void **state)
{
	(void)state;
	plx_cluster_service d = s_desc(PLX_RESTART_ALWAYS);
	assert_int_equal(rs_backoff_ms(&d, 0), 0);
	assert_int_equal(rs_backoff_ms(&d, 1), 200);
	assert_int_equal(rs_backoff_ms(&d, 2), 400);
	assert_int_equal(rs_backoff_ms(&d, 3), 800);
	assert_int_equal(rs_backoff_ms(&d, 4), 1000); /* capped */
	assert_int_equal(rs_backoff_ms(&d, 60), 1000);
}

static void test_crash_loop(void **state)
{
	(void)state;
	plx_cluster_service d = s_desc(PLX_RESTART_ALWAYS);
	uint32_t streak = 0, fails = 0;
	int64_t delay = -1;
	/* first crash: at once */
	assert_int_equal(rs_after_exit(&d, true, true, false, 50, &streak, &fails, &delay),
	                 RS_ACT_RESTART);
	assert_int_equal(delay, 0);
	/* RS counts a restart once the new instance is ready (service.c): streak 1, 2, ... */
	int64_t want[] = {200, 400, 800};
	for (uint32_t s = 1; s <= 3; s++) {
		streak = s;
		assert_int_equal(rs_after_exit(&d, true, true, false, 50, &streak, &fails, &delay),
		                 RS_ACT_RESTART);
		assert_int_equal(delay, want[s - 1]);
	}
	streak = 4;
	assert_int_equal(rs_after_exit(&d, true, true, false, 50, &streak, &fails, &delay),
	                 RS_ACT_GIVE_UP);
	/* a run as long as the cap starts a new streak: immediate again */
	streak = 4;
	assert_int_equal(rs_after_exit(&d, true, true, false, 1000, &streak, &fails, &delay),
	                 RS_ACT_RESTART);
	assert_int_equal(streak, 0);
	assert_int_equal(delay, 0);
	/* max_restarts 0: never gives up */
	d.max_restarts = 0;
	streak = 1000;
	assert_int_equal(rs_after_exit(&d, true, true, false, 0, &streak, &fails, &delay),
	                 RS_ACT_RESTART);
	assert_int_equal(delay, 1000);
}

static void test_init_failure_and_node_death(void **state)
{
	(void)state;
	plx_cluster_service d = s_desc(PLX_RESTART_ALWAYS);
	uint32_t streak = 0, fails = 0;
	int64_t delay;
	/* never ready: tried again init_retries times, 2, 4, 8, ... backoff units apart (capped),
	 * then failed, whatever the policy says */
	d.init_retries = 3;
	int64_t want[] = {200, 400, 800};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rs_after_exit(&d, i % 2, false, false, 0, &streak, &fails, &delay),
		                 RS_ACT_RESTART);
		assert_int_equal(fails, i + 1);
		assert_int_equal(delay, want[i]);
	}
	assert_int_equal(rs_after_exit(&d, true, false, false, 0, &streak, &fails, &delay),
	                 RS_ACT_FAILED);
	assert_int_equal(streak, 0); /* a crash streak is another count */
	/* init_retries 0: MINIX's rule, failed at once */
	d.init_retries = 0;
	fails = 0;
	assert_int_equal(rs_after_exit(&d, true, false, false, 0, &streak, &fails, &delay),
	                 RS_ACT_FAILED);
	/* a node death is not the service's fault: restart, even before ready, with no wait */
	streak = 3;
	assert_int_equal(rs_after_exit(&d, true, false, true, 0, &streak, &fails, &delay),
	                 RS_ACT_RESTART);
	assert_int_equal(delay, 0);
	assert_int_equal(streak, 3);
}

static void test_policies(void **state)
{
	(void)state;
	uint32_t streak = 0, fails = 0;
	int64_t delay;
	plx_cluster_service always = s_desc(PLX_RESTART_ALWAYS);
	plx_cluster_service onfail = s_desc(PLX_RESTART_ON_FAILURE);
	plx_cluster_service never = s_desc(PLX_RESTART_NEVER);
	assert_int_equal(rs_after_exit(&always, false, true, false, 50, &streak, &fails, &delay),
	                 RS_ACT_RESTART);
	assert_int_equal(rs_after_exit(&onfail, false, true, false, 50, &streak, &fails, &delay),
	                 RS_ACT_EXITED);
	assert_int_equal(rs_after_exit(&onfail, true, true, false, 50, &streak, &fails, &delay),
	                 RS_ACT_RESTART);
	assert_int_equal(rs_after_exit(&never, false, true, false, 50, &streak, &fails, &delay),
	                 RS_ACT_EXITED);
	assert_int_equal(rs_after_exit(&never, true, true, false, 50, &streak, &fails, &delay),
	                 RS_ACT_FAILED);
	assert_int_equal(rs_after_exit(&never, true, true, true, 50, &streak, &fails, &delay),
	                 RS_ACT_FAILED);
	assert_int_equal(rs_after_exit(&onfail, true, true, true, 50, &streak, &fails, &delay),
	                 RS_ACT_RESTART);
}

static void test_names(void **state)
{
	(void)state;
	char text[64];
	assert_true(rs_exit_text(true, 9, text, sizeof text));
	assert_string_equal(text, "killed by signal 9 SIGKILL");
	assert_false(rs_exit_text(false, 0, text, sizeof text));
	assert_string_equal(text, "exit 0");
	assert_true(rs_exit_text(false, 3, text, sizeof text));
	assert_string_equal(text, "exit 3");
	for (int i = 0; i < RS_NSTATES; i++) {
		rs_state st;
		assert_int_equal(rs_state_parse(rs_state_name((rs_state)i), &st), 0);
		assert_int_equal(st, i);
	}
	rs_state st = RS_UP;
	assert_int_equal(rs_state_parse("sleeping", &st), -EINVAL);
	assert_int_equal(st, RS_UP);
	assert_string_equal(rs_state_name(RS_GIVEN_UP), "given-up");
}

/* ---- power backends ---- */

static char s_dir[64];

static int s_setup_dir(void **state)
{
	(void)state;
	snprintf(s_dir, sizeof s_dir, "/tmp/plexus-power-XXXXXX");
	return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static plx_cluster_node s_node(plx_power_kind kind)
{
	plx_cluster_node n = {.name = "n7", .mac_text = "02:00:00:00:00:07", .addr = "10.9.0.17"};
	n.power = kind;
	return n;
}

static void s_read(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_power_netns(void **state)
{
	(void)state;
	plx_cluster_node n = s_node(PLX_POWER_NETNS);
	snprintf(n.power_dir, sizeof n.power_dir, "%s", s_dir);
	char msg[256], path[128], buf[256];
	assert_int_equal(rs_power_run(&n, msg, sizeof msg), 0);
	snprintf(path, sizeof path, "%s/n7.cycle", s_dir);
	s_read(path, buf, sizeof buf);
	assert_memory_equal(buf, "cycle n7 02:00:00:00:00:07 10.9.0.17 ", 37);
	assert_non_null(strstr(msg, path));
	snprintf(n.power_dir, sizeof n.power_dir, "%s/missing", s_dir);
	assert_int_equal(rs_power_run(&n, msg, sizeof msg), -ENOENT);
	assert_non_null(strstr(msg, "missing"));
}

static void test_power_command(void **state)
{
	(void)state;
	plx_cluster_node n = s_node(PLX_POWER_COMMAND);
	char msg[512], path[128], buf[256];
	snprintf(path, sizeof path, "%s/out", s_dir);
	snprintf(n.power_cycle, sizeof n.power_cycle, "echo %%n %%m %%a 100%%%% > %s", path);
	assert_int_equal(rs_power_run(&n, msg, sizeof msg), 0);
	s_read(path, buf, sizeof buf);
	assert_string_equal(buf, "n7 02:00:00:00:00:07 10.9.0.17 100%\n");

	snprintf(n.power_cycle, sizeof n.power_cycle, "exit 3");
	assert_int_equal(rs_power_run(&n, msg, sizeof msg), -EIO);
	assert_non_null(strstr(msg, "exit 3"));

	/* the time limit kills the command's whole process group */
	snprintf(path, sizeof path, "%s/pid", s_dir);
	snprintf(n.power_cycle, sizeof n.power_cycle, "sleep 30 & echo $! > %s; wait", path);
	n.power_timeout_ms = 300;
	int64_t start = rs_mono_ms();
	assert_int_equal(rs_power_run(&n, msg, sizeof msg), -ETIMEDOUT);
	assert_true(rs_mono_ms() - start < 5000);
	assert_non_null(strstr(msg, "longer than 300 ms"));
	s_read(path, buf, sizeof buf);
	pid_t sleeper = (pid_t)atoi(buf);
	assert_true(sleeper > 0);
	for (int i = 0; i < 200 && kill(sleeper, 0) == 0; i++)
		usleep(10 * 1000); /* reaped by init once killed */
	assert_int_equal(kill(sleeper, 0), -1);

	snprintf(n.power_cycle, sizeof n.power_cycle, "echo %%q");
	assert_int_equal(rs_power_run(&n, msg, sizeof msg), -EINVAL);
	plx_cluster_node none = s_node(PLX_POWER_NONE);
	assert_int_equal(rs_power_run(&none, msg, sizeof msg), -ENOTSUP);
}

/* A QMP peer: greets, then answers each command line with the next scripted line. */
typedef struct qmp_peer {
	int listen_fd;
	const char *const *answers; /* NULL-terminated; "EVENT" sends an event first */
	char got[1024];             /* the commands received, space-separated */
} qmp_peer;

static void *s_qmp_thread(void *arg)
{
	qmp_peer *p = arg;
	int fd = accept(p->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	const char *greeting = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
	if (write(fd, greeting, strlen(greeting)) < 0)
		goto out;
	char buf[512];
	size_t len = 0;
	for (const char *const *a = p->answers; *a;) {
		ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		char *nl;
		while (*a && (nl = strchr(buf, '\n'))) {
			*nl = '\0';
			char *cmd = strstr(buf, "\"execute\": \"");
			if (cmd) {
				cmd += 12;
				char *end = strchr(cmd, '"');
				if (end)
					*end = '\0';
				strncat(p->got, cmd, sizeof p->got - strlen(p->got) - 2);
				strcat(p->got, " ");
			}
			const char *ev = "{\"event\": \"RESET\", \"data\": {}}\r\n";
			if (write(fd, ev, strlen(ev)) < 0 || write(fd, *a, strlen(*a)) < 0 ||
			    write(fd, "\r\n", 2) < 0)
				goto out;
			a++;
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, len - used + 1);
			len -= used;
		}
	}
out:
	close(fd);
	return NULL;
}

/* Serves answers on a fresh socket while RS's qemu backend (or, with powerdown,
 * plx_qmp_powerdown) talks to it; got: the commands it sent. */
static int s_qmp_serve(const char *const *answers, char *got, char *msg, size_t size,
                       bool powerdown)
{
	qmp_peer p = {.answers = answers};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/qmp.sock", s_dir);
	unlink(sa.sun_path);
	p.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(p.listen_fd >= 0);
	assert_int_equal(bind(p.listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(p.listen_fd, 1), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, s_qmp_thread, &p), 0);
	plx_cluster_node n = s_node(PLX_POWER_QEMU);
	snprintf(n.power_qmp, sizeof n.power_qmp, "%s", sa.sun_path);
	n.power_timeout_ms = 5000;
	int rc = powerdown ? plx_qmp_powerdown(n.power_qmp, 5000, msg, size)
	                   : rs_power_run(&n, msg, size);
	pthread_join(t, NULL);
	close(p.listen_fd);
	strcpy(got, p.got);
	return rc;
}

static int s_qmp_run(const char *const *answers, char *got, char *msg, size_t size)
{
	return s_qmp_serve(answers, got, msg, size, false);
}

static void test_power_qmp(void **state)
{
	(void)state;
	char msg[512], got[1024];
	const char *const paused[] = {"{\"return\": {}}",
	                              "{\"return\": {\"status\": \"paused\", \"running\": false}}",
	                              "{\"return\": {}}", "{\"return\": {}}", NULL};
	assert_int_equal(s_qmp_run(paused, got, msg, sizeof msg), 0);
	assert_string_equal(got, "qmp_capabilities query-status system_reset cont ");
	assert_non_null(strstr(msg, "system_reset (the VM was paused), cont"));

	const char *const running[] = {"{\"return\": {}}",
	                               "{\"return\": {\"status\": \"running\", \"running\": true}}",
	                               "{\"return\": {}}", NULL};
	assert_int_equal(s_qmp_run(running, got, msg, sizeof msg), 0);
	assert_string_equal(got, "qmp_capabilities query-status system_reset ");

	const char *const refused[] = {
	    "{\"return\": {}}", "{\"return\": {\"status\": \"running\", \"running\": true}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"reset refused\"}}", NULL};
	assert_int_equal(s_qmp_run(refused, got, msg, sizeof msg), -EIO);
	assert_non_null(strstr(msg, "system_reset: reset refused"));

	/* a peer that closes after the greeting */
	const char *const none[] = {NULL};
	int rc = s_qmp_run(none, got, msg, sizeof msg);
	assert_true(rc == -ECONNRESET || rc == -EPIPE); /* read or write noticed first */
	assert_non_null(strstr(msg, "qmp_capabilities"));

	plx_cluster_node n = s_node(PLX_POWER_QEMU);
	snprintf(n.power_qmp, sizeof n.power_qmp, "%s/nothing.sock", s_dir);
	assert_int_equal(rs_power_run(&n, msg, sizeof msg), -ENOENT);
}

/* plx_qmp_powerdown: the ACPI power button of a running VM; a paused one is refused. */
static void test_qmp_powerdown(void **state)
{
	(void)state;
	char msg[512], got[1024];
	const char *const running[] = {"{\"return\": {}}",
	                               "{\"return\": {\"status\": \"running\", \"running\": true}}",
	                               "{\"return\": {}}", NULL};
	assert_int_equal(s_qmp_serve(running, got, msg, sizeof msg, true), 0);
	assert_string_equal(got, "qmp_capabilities query-status system_powerdown ");
	assert_non_null(strstr(msg, "system_powerdown"));

	const char *const paused[] = {
	    "{\"return\": {}}", "{\"return\": {\"status\": \"prelaunch\", \"running\": false}}",
	    NULL};
	assert_int_equal(s_qmp_serve(paused, got, msg, sizeof msg, true), -EAGAIN);
	assert_string_equal(got, "qmp_capabilities query-status ");
	assert_non_null(strstr(msg, "not running"));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_crash_loop),
	    cmocka_unit_test(test_init_failure_and_node_death),
	    cmocka_unit_test(test_policies),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_power_netns, s_setup_dir, s_teardown_dir),
	    cmocka_unit_test_setup_teardown(test_power_command, s_setup_dir, s_teardown_dir),
	    cmocka_unit_test_setup_teardown(test_power_qmp, s_setup_dir, s_teardown_dir),
	    cmocka_unit_test_setup_teardown(test_qmp_powerdown, s_setup_dir, s_teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
