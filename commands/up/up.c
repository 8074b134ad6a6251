/*
 * up.c — `plexus up` and `plexus down`: their options, the state directory's lock, and what
 * comes after the boot (the shell with a terminal, the tour without one).
 *
 * Entry points: plx_up_cli, plx_down_cli, plx_up_env, plx_env_cli, plx_up_note_mount.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <plexus/deploy_cli.h>
#include <plexus/up_cli.h>

#include "up.h"

static void s_up_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: plexus up [options]\n\n"
	    "Boots Plexus on this machine (one node, or N in network namespaces with --nodes)\n"
	    "and leaves it running: a private etcd, plexus-node, plexus-rs, and the services of\n"
	    "the cluster description (by default: memory with the root RAM disk, mfs-root,\n"
	    "pfs, tty, log, vfs, and vdisk over a disk image mounted at /data by mfs-data).\n"
	    "Each service is printed as it comes up. With a terminal it then opens `plexus\n"
	    "sh`; without one it runs the tour (a file under /data, the disk driver killed in\n"
	    "the middle of a write, RS restarting it, the file checked). `plexus down` stops\n"
	    "it all.\n\n"
	    "Options:\n"
	    "  --state-dir DIR      where the state, logs and data image live (default\n"
	    "                       $PLEXUS_STATE_DIR, /run/plexus as root, else\n"
	    "                       $XDG_RUNTIME_DIR/plexus or /tmp/plexus-UID)\n"
	    "  --cluster-file FILE  boot this description instead of the default\n"
	    "  --cluster NAME       the registry prefix (default \"default\")\n"
	    "  --image PATH         the data disk image (default STATE/data.img; made once)\n"
	    "  --port N|auto        etcd's client port (default 2379 if free, else any;\n"
	    "                       auto: any free one)\n"
	    "  --timeout MS         the longest wait for one step (default 60000)\n"
	    "  --tour               run the tour even with a terminal\n"
	    "  --no-tour            boot, print the status and exit (no shell, no tour)\n"
	    "  --service-option [LABEL:]KEY=VALUE\n"
	    "                       add KEY = VALUE to every service of the default description,\n"
	    "                       or to service LABEL only (e.g. backoff_cap=200ms,\n"
	    "                       vdisk:spare=same; repeatable; docs/reincarnation.md);\n"
	    "                       a LABEL no service has is a usage error\n"
	    "  --nodes N            N nodes (1..16), each in a network namespace on a bridge\n"
	    "                       of this host, the services spread over them (root); RS\n"
	    "                       power-cycles a dead one through up's own power\n"
	    "                       controller (STATE/logs/power.log)\n"
	    "  --qemu               boot in QEMU VMs from the netboot image instead (see\n"
	    "                       plexus up --qemu --help, docs/deploy.md)\n"
	    "  --etcd-members N     run etcd as a cluster of N members on this host (1, 3 or\n"
	    "                       5; default 1): every component is given all of them and\n"
	    "                       rides through the death of one (docs/registry.md)\n"
	    "  --rs-standby         a second RS that takes over when the first dies (its\n"
	    "                       lease expires; docs/reincarnation.md)\n"
	    "  --insecure           plain links and an etcd without authentication (by\n"
	    "                       default every link is CURVE with a new trust root in\n"
	    "                       STATE/keys, every message is checked against its sender's\n"
	    "                       key and etcd wants a password; docs/security.md)\n"
	    "  --quiet              print only errors\n"
	    "  --help               this text\n\n"
	    "Exit codes (sysexits.h): 0 up (or already up), EX_USAGE, EX_UNAVAILABLE a step\n"
	    "did not come up in time, EX_SOFTWARE a service failed, EX_CONFIG a bad cluster\n"
	    "file; a failed step names the service, the node and its log's last lines.\n");
}

static int s_parse_int(const char *text, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int s_up_options(int argc, char **argv, up_opts *o)
{
	enum {
		O_STATE = 256,
		O_FILE,
		O_CLUSTER,
		O_IMAGE,
		O_PORT,
		O_TIMEOUT,
		O_TOUR,
		O_NOTOUR,
		O_SVCOPT,
		O_NODES,
		O_SECURE,
		O_INSECURE,
		O_MEMBERS,
		O_STANDBY
	};
	static const struct option longs[] = {
	    {"state-dir", required_argument, NULL, O_STATE},
	    {"cluster-file", required_argument, NULL, O_FILE},
	    {"cluster", required_argument, NULL, O_CLUSTER},
	    {"image", required_argument, NULL, O_IMAGE},
	    {"port", required_argument, NULL, O_PORT},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"tour", no_argument, NULL, O_TOUR},
	    {"no-tour", no_argument, NULL, O_NOTOUR},
	    {"service-option", required_argument, NULL, O_SVCOPT},
	    {"nodes", required_argument, NULL, O_NODES},
	    {"secure", no_argument, NULL, O_SECURE}, /* the default; kept for scripts */
	    {"insecure", no_argument, NULL, O_INSECURE},
	    {"etcd-members", required_argument, NULL, O_MEMBERS},
	    {"rs-standby", no_argument, NULL, O_STANDBY},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	memset(o, 0, sizeof *o);
	o->tour = -1;
	o->secure = true;
	o->timeout_ms = 60000;
	o->etcd_members = 1;
	snprintf(o->cluster, sizeof o->cluster, "default");
	up_state_dir_default(o->state_dir, sizeof o->state_dir);
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":hq", longs, NULL)) != -1) {
		switch (c) {
		case O_STATE:
			snprintf(o->state_dir, sizeof o->state_dir, "%s", optarg);
			break;
		case O_FILE:
			if (!realpath(optarg, o->cluster_file)) {
				fprintf(stderr, "plexus up: %s: %s\n", optarg, strerror(errno));
				return EX_NOINPUT;
			}
			break;
		case O_CLUSTER:
			snprintf(o->cluster, sizeof o->cluster, "%s", optarg);
			break;
		case O_IMAGE:
			snprintf(o->image, sizeof o->image, "%s", optarg);
			break;
		case O_PORT:
			if (strcmp(optarg, "auto") == 0)
				o->port = -1;
			else if (s_parse_int(optarg, 1, 65535, &o->port) < 0) {
				fprintf(stderr,
				        "plexus up: bad --port '%s': want 1..65535 or auto\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case O_TIMEOUT:
			if (s_parse_int(optarg, 100, 3600000, &o->timeout_ms) < 0) {
				fprintf(stderr,
				        "plexus up: bad --timeout '%s': want 100..3600000 ms\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case O_TOUR:
			o->tour = 1;
			break;
		case O_NODES:
			if (s_parse_int(optarg, 1, 16, &o->nodes) < 0) {
				fprintf(stderr, "plexus up: bad --nodes '%s': want 1..16\n",
				        optarg);
				return EX_USAGE;
			}
			if (geteuid() != 0) {
				fprintf(stderr,
				        "plexus up: --nodes makes network namespaces: run it "
				        "as root\n");
				return EX_NOPERM;
			}
			break;
		case O_NOTOUR:
			o->tour = 0;
			break;
		case O_SECURE:
			o->secure = true;
			break;
		case O_INSECURE:
			o->secure = false;
			break;
		case O_STANDBY:
			o->rs_standby = true;
			break;
		case O_MEMBERS:
			if (s_parse_int(optarg, 1, UP_ETCD_MEMBERS_MAX, &o->etcd_members) < 0 ||
			    o->etcd_members % 2 == 0) {
				fprintf(stderr,
				        "plexus up: bad --etcd-members '%s': want 1, 3 or 5\n",
				        optarg);
				return EX_USAGE;
			}
			break;
		case O_SVCOPT: {
			const char *eq = strchr(optarg, '=');
			size_t len = strlen(o->service_extra);
			const char *colon = memchr(optarg, ':', eq ? (size_t)(eq - optarg) : 0);
			if (!eq || eq == optarg || colon == optarg || (colon && colon + 1 == eq) ||
			    strchr(optarg, '\n') ||
			    len + strlen(optarg) + 4 >= sizeof o->service_extra) {
				fprintf(stderr,
				        "plexus up: bad --service-option '%s': want "
				        "[LABEL:]KEY=VALUE\n",
				        optarg);
				return EX_USAGE;
			}
			snprintf(o->service_extra + len, sizeof o->service_extra - len,
			         "%.*s = %s\n", (int)(eq - optarg), optarg, eq + 1);
			break;
		}
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			s_up_usage(stdout);
			return -1;
		default:
			fprintf(stderr, "plexus up: bad option '%s' (see plexus up --help)\n",
			        argv[optind - 1]);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "plexus up: unexpected '%s' (see plexus up --help)\n",
		        argv[optind]);
		return EX_USAGE;
	}
	char err[sizeof o->service_extra + 64];
	if (!o->cluster_file[0] && up_cluster_check_extra(o->service_extra, err, sizeof err) < 0) {
		fprintf(stderr, "plexus up: %s\n", err); /* before anything starts */
		return EX_USAGE;
	}
	if (!o->image[0])
		snprintf(o->image, sizeof o->image, "%.4000s/data.img", o->state_dir);
	return 0;
}

/* Opens `plexus sh` on the running system (replaces this process). Returns only on failure. */
static int s_shell(const up_state *st)
{
	char plexus[PATH_MAX];
	setenv("PLEXUS_ETCD", st->etcd, 1);
	setenv("PLEXUS_CLUSTER", st->cluster, 1);
	if (st->addr[0])
		setenv("PLEXUS_ADDR", st->addr, 1);
	if (up_find_program("plexus", plexus, sizeof plexus) == 0) {
		printf("Opening plexus sh (exit leaves Plexus running; plexus down stops it).\n");
		fflush(stdout);
		execl(plexus, "plexus", "sh", (char *)NULL);
	}
	fprintf(stderr, "plexus up: cannot open plexus sh: %s\n", strerror(errno));
	return EX_UNAVAILABLE;
}

int plx_up_cli(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) /* the VMs are deploy/'s (docs/deploy.md) */
		if (strcmp(argv[i], "--qemu") == 0)
			return plx_up_qemu(argc, argv);
	/* what up starts itself with --nodes (power.c): not for people */
	if (argc == 4 && strcmp(argv[1], "--serve-power") == 0 &&
	    strcmp(argv[2], "--state-dir") == 0)
		return up_power_serve(argv[3]);
	up_opts o;
	int code = s_up_options(argc, argv, &o);
	if (code)
		return code < 0 ? EX_OK : code;
	int lock = up_state_lock(o.state_dir);
	if (lock < 0) {
		fprintf(stderr, "plexus up: state directory %s: %s\n", o.state_dir,
		        strerror(-lock));
		return EX_CANTCREAT;
	}
	up_state st;
	if (up_state_load(o.state_dir, &st) == 0 && up_state_running(&st)) {
		printf("Plexus is already up (etcd %s, cluster %s, state %s); plexus down stops "
		       "it.\n",
		       st.etcd, st.cluster, st.dir);
		close(lock);
		return EX_OK;
	}
	if (st.nprocs || st.nmounts || st.nnetns) /* a crashed host or up: sweep what is left */
		up_teardown(&st, stderr);
	memset(&st, 0, sizeof st);
	snprintf(st.dir, sizeof st.dir, "%s", o.state_dir);
	if (!o.quiet)
		printf("Booting Plexus (state %s)\n", st.dir);
	code = up_keys(&o);
	if (code == 0)
		code = up_boot(&o, &st);
	close(lock);
	if (code != 0) {
		fprintf(stderr, "plexus up: stopping what was started (logs stay in %s/logs)\n",
		        st.dir);
		int lk = up_state_lock(o.state_dir);
		up_teardown(&st, stderr);
		if (lk >= 0)
			close(lk);
		return code;
	}
	if (!o.quiet && (strcmp(st.etcd, "http://127.0.0.1:2379") != 0 ||
	                 strcmp(st.cluster, "default") != 0 || st.addr[0] || o.secure))
		printf("The plexus commands find this system themselves; for other programs "
		       "(libplexus):\n"
		       "  export PLEXUS_ETCD=%s PLEXUS_CLUSTER=%s%s%s%s%s\n",
		       st.etcd, st.cluster, st.addr[0] ? " PLEXUS_ADDR=" : "", st.addr,
		       o.secure ? " PLEXUS_KEYS=" : "", o.secure ? getenv("PLEXUS_KEYS") : "");
	int tour = o.tour >= 0 ? o.tour : !isatty(0);
	if (tour)
		return up_tour(&o, &st);
	if (o.tour < 0 && isatty(0))
		return s_shell(&st);
	return EX_OK;
}

static void s_down_usage(FILE *out)
{
	fprintf(out, "usage: plexus down [--state-dir DIR]\n\n"
	             "Stops everything `plexus up` started from that state directory (default as\n"
	             "plexus up's): FUSE mounts, RS, the node kernels and their services, etcd,\n"
	             "network namespaces. The logs and the data disk image stay.\n"
	             "Exit codes: 0 (also when nothing was up), EX_USAGE, EX_SOFTWARE when\n"
	             "something would not stop (the message says what).\n");
}

int plx_down_cli(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"state-dir", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	char dir[PATH_MAX];
	up_state_dir_default(dir, sizeof dir);
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		if (c == 's')
			snprintf(dir, sizeof dir, "%s", optarg);
		else if (c == 'h') {
			s_down_usage(stdout);
			return EX_OK;
		} else {
			fprintf(stderr, "plexus down: bad option '%s' (see plexus down --help)\n",
			        argv[optind - 1]);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "plexus down: unexpected '%s'\n", argv[optind]);
		return EX_USAGE;
	}
	if (access(dir, F_OK) < 0) {
		printf("Plexus is not up (no state in %s).\n", dir);
		return EX_OK;
	}
	int lock = up_state_lock(dir);
	if (lock < 0) {
		fprintf(stderr, "plexus down: state directory %s: %s\n", dir, strerror(-lock));
		return EX_NOPERM;
	}
	up_state st;
	int rc = up_state_load(dir, &st);
	if (rc == -ENOENT) {
		printf("Plexus is not up (no state in %s).\n", dir);
		close(lock);
		return EX_OK;
	}
	int n = st.nprocs;
	rc = up_teardown(&st, stderr);
	close(lock);
	if (rc < 0)
		return EX_SOFTWARE;
	printf("Plexus is down: %d process%s stopped; logs in %s/logs\n", n, n == 1 ? "" : "es",
	       dir);
	return EX_OK;
}

/* Fills the variables not set yet from the running up whose state is in dir, if it is the
 * system PLEXUS_ETCD names (or PLEXUS_ETCD is unset). Returns 0 or -ENOENT. */
static int s_env_from(const char *dir)
{
	up_state st;
	const char *etcd = getenv("PLEXUS_ETCD");
	if (up_state_load(dir, &st) < 0 || !up_state_running(&st) || !st.etcd[0])
		return -ENOENT;
	if (etcd && *etcd && strcmp(etcd, st.etcd) != 0)
		return -ENOENT; /* another system was named */
	setenv("PLEXUS_ETCD", st.etcd, 0);
	setenv("PLEXUS_CLUSTER", st.cluster, 0);
	setenv("PLEXUS_STATE_DIR", dir, 0); /* where it was found (plexus drill reads it) */
	if (st.addr[0]) /* up --nodes: clients bind where the nodes reach them */
		setenv("PLEXUS_ADDR", st.addr, 0);
	up_keys_env(dir);
	return 0;
}

int plx_up_env(const char *state_dir)
{
	char dir[PATH_MAX];
	if (state_dir)
		return s_env_from(state_dir);
	up_state_dir_default(dir, sizeof dir);
	if (s_env_from(dir) == 0)
		return 0;
	if (getenv("PLEXUS_STATE_DIR") || geteuid() == 0)
		return -ENOENT;
	return s_env_from("/run/plexus"); /* root's up, used by another user */
}

static void s_env_usage(FILE *out)
{
	fprintf(out,
	        "usage: plexus env [--state-dir DIR]\n\n"
	        "Prints the shell lines that point programs at the running `plexus up` (its\n"
	        "etcd, cluster, bridge address and keys):  eval \"$(plexus env)\"\n"
	        "The plexus commands find a running up themselves; programs built on libplexus\n"
	        "read these variables. The state is looked for in DIR, else the default state\n"
	        "directory (as plexus up's), then root's /run/plexus.\n"
	        "Exit codes: 0, EX_USAGE, EX_UNAVAILABLE when no plexus up runs there.\n");
}

/* Prints `export NAME='VALUE'` for a variable that is set (a ' in it quoted as '\''). */
static void s_export(const char *name)
{
	const char *v = getenv(name);
	if (!v)
		return;
	printf("export %s='", name);
	for (; *v; v++) {
		if (*v == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*v);
	}
	printf("'\n");
}

int plx_env_cli(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"state-dir", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *dir = NULL;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		if (c == 's')
			dir = optarg;
		else if (c == 'h') {
			s_env_usage(stdout);
			return EX_OK;
		} else {
			s_env_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		s_env_usage(stderr);
		return EX_USAGE;
	}
	static const char *const names[] = {"PLEXUS_ETCD", "PLEXUS_CLUSTER", "PLEXUS_ADDR",
	                                    "PLEXUS_KEYS"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		unsetenv(names[i]); /* this up's values, not the caller's */
	if (plx_up_env(dir) < 0) {
		fprintf(stderr, "plexus env: no plexus up runs (state in %s)\n",
		        dir ? dir : "the default directories");
		return EX_UNAVAILABLE;
	}
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		s_export(names[i]);
	return EX_OK;
}

int plx_up_note_mount(const char *state_dir, const char *dir, bool add)
{
	char sdir[PATH_MAX], path[PATH_MAX + 8];
	up_state st;
	if (state_dir)
		snprintf(sdir, sizeof sdir, "%s", state_dir);
	else
		up_state_dir_default(sdir, sizeof sdir);
	snprintf(path, sizeof path, "%s/state", sdir);
	if (access(path, F_OK) < 0)
		return -ENOENT;
	int lock = up_state_lock(sdir);
	if (lock < 0)
		return lock;
	int rc = up_state_load(sdir, &st);
	if (rc == 0 && !up_state_running(&st))
		rc = -ENOENT;
	if (rc == 0) {
		int i = 0;
		while (i < st.nmounts && strcmp(st.mounts[i], dir) != 0)
			i++;
		if (add && i == st.nmounts && st.nmounts < UP_MAX_MOUNTS)
			snprintf(st.mounts[st.nmounts++], PATH_MAX, "%s", dir);
		else if (!add && i < st.nmounts) {
			memmove(st.mounts[i], st.mounts[i + 1],
			        (size_t)(st.nmounts - i - 1) * sizeof st.mounts[0]);
			st.nmounts--;
		}
		rc = up_state_save(&st);
	}
	close(lock);
	return rc;
}
