/*
 * fs-mounts.c — the mounts `plexus bench fs` measures besides libplexus: `plexus mount` (FUSE)
 * and sshfs, each made by a process of the network-namespace cluster, and the NFS probe.
 *
 * Entry points: fs_run, fs_mount_fuse, fs_mount_sshfs, fs_mount_stop, fs_nfs_probe.
 *
 * sshfs: a temporary directory under /dev/shm holds sshd_config (Port, ListenAddress the
 * server node's address, HostKey, PidFile, AuthorizedKeysFile, `Subsystem sftp
 * internal-sftp`, `UsePAM no`), the host key, a client key made for the run with its public
 * half in home/.ssh/authorized_keys, and export/, the directory served. sshd runs with -D -e
 * in the server's node; sshfs -f in the client's, with that key and no known_hosts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs_mounts.h"

#define S_SSH_PORT 2222
#define S_WAIT_MS  15000

int fs_run(char *const argv[], bool quiet)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
		if (quiet)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 127 ? -ENOENT : WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static void s_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* True when dir is a mount point: its device differs from its parent's. */
static bool s_mounted(const char *dir)
{
	char parent[300];
	struct stat a, b;
	snprintf(parent, sizeof parent, "%s/..", dir);
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* Waits until m->dir is mounted while m->client runs. Returns 0, -ETIMEDOUT or -ECHILD (the
 * process ended). */
static int s_wait_mounted(fs_mount *m)
{
	for (int ms = 0; ms < S_WAIT_MS; ms += 50) {
		if (s_mounted(m->dir))
			return 0;
		if (netns_pid_gone(m->client))
			return -ECHILD;
		s_sleep_ms(50);
	}
	return -ETIMEDOUT;
}

static int s_mount_point(fs_mount *m, const char *what, char *err, size_t size)
{
	snprintf(m->dir, sizeof m->dir, "/dev/shm/plexus-benchfs-%s-XXXXXX", what);
	if (!mkdtemp(m->dir)) {
		snprintf(err, size, "mkdtemp %s: %s", m->dir, strerror(errno));
		m->dir[0] = '\0';
		return -errno;
	}
	return 0;
}

static int s_started(netns_cluster *c, int node, fs_mount *m, const char *what, int rc, char *err,
                     size_t size)
{
	if (rc == 0 && (rc = s_wait_mounted(m)) == 0)
		return 0;
	snprintf(err, size, "%s on %s did not come up (%s); see %s", what, m->dir,
	         strerror(rc == -ECHILD ? EIO : -rc), netns_log_path(c, node));
	return rc;
}

int fs_mount_fuse(netns_cluster *c, int node, const char *program, const char *etcd,
                  const char *cluster, fs_mount *m, char *err, size_t size)
{
	int rc = s_mount_point(m, "fuse", err, size);
	if (rc < 0)
		return rc;
	char *argv[] = {(char *)program, "mount",         "-f",   "--etcd", (char *)etcd,
	                "--cluster",     (char *)cluster, m->dir, NULL};
	rc = netns_exec(c, node, argv, NULL, &m->client);
	return s_started(c, node, m, "plexus mount", rc, err, size);
}

/* ---- sshfs ---- */

static int s_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	int rc = fputs(text, f) < 0 ? -EIO : 0;
	return fclose(f) < 0 || rc < 0 ? -EIO : 0;
}

static int s_keygen(const char *path)
{
	char *argv[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (char *)path, NULL};
	return fs_run(argv, true) == 0 ? 0 : -EIO;
}

/* Copies from's contents to to (the public key into authorized_keys). */
static int s_copy(const char *from, const char *to)
{
	char text[1024];
	FILE *f = fopen(from, "r");
	if (!f)
		return -errno;
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	return s_write_file(to, text);
}

/* Makes the temporary directory: keys, authorized_keys, export/ and sshd_config. */
static int s_ssh_files(fs_mount *m, const char *addr)
{
	char path[400], from[400], conf[2048];
	snprintf(m->tmp, sizeof m->tmp, "/dev/shm/plexus-benchfs-ssh-XXXXXX");
	if (!mkdtemp(m->tmp)) {
		m->tmp[0] = '\0';
		return -errno;
	}
	const char *dirs[] = {"home", "home/.ssh", "export"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(path, sizeof path, "%s/%s", m->tmp, dirs[i]);
		if (mkdir(path, 0700) < 0)
			return -errno;
	}
	snprintf(path, sizeof path, "%s/host_key", m->tmp);
	int rc = s_keygen(path);
	snprintf(path, sizeof path, "%s/home/.ssh/id_ed25519", m->tmp);
	if (rc < 0 || (rc = s_keygen(path)) < 0)
		return rc;
	snprintf(from, sizeof from, "%s/home/.ssh/id_ed25519.pub", m->tmp);
	snprintf(path, sizeof path, "%s/home/.ssh/authorized_keys", m->tmp);
	if ((rc = s_copy(from, path)) < 0)
		return rc;
	snprintf(conf, sizeof conf,
	         "Port %d\nListenAddress %s\nHostKey %s/host_key\nPidFile %s/sshd.pid\n"
	         "AuthorizedKeysFile %s/home/.ssh/authorized_keys\nSubsystem sftp internal-sftp\n"
	         "UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
	         "PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
	         S_SSH_PORT, addr, m->tmp, m->tmp, m->tmp);
	snprintf(path, sizeof path, "%s/sshd_config", m->tmp);
	return s_write_file(path, conf);
}

/* Waits until something accepts connections on addr:port, seen from node. */
static int s_wait_listening(netns_cluster *c, int node, const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	for (int ms = 0; ms < S_WAIT_MS; ms += 50) {
		int fd = netns_socket(c, node, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fd;
		int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (rc == 0)
			return 0;
		s_sleep_ms(50);
	}
	return -ETIMEDOUT;
}

static int s_start_sshd(netns_cluster *c, int node, fs_mount *m, char *err, size_t size)
{
	char conf[400];
	snprintf(conf, sizeof conf, "%s/sshd_config", m->tmp);
	/* sshd wants its privilege-separation directory; Debian's service makes it at boot. */
	if (mkdir("/run/sshd", 0755) < 0 && errno != EEXIST)
		return -errno;
	char *argv[] = {"/usr/sbin/sshd", "-D", "-e", "-f", conf, NULL};
	int rc = netns_exec(c, node, argv, NULL, &m->server);
	if (rc == 0)
		rc = s_wait_listening(c, node, netns_node_addr(c, node), S_SSH_PORT);
	if (rc < 0)
		snprintf(err, size, "sshd on node %d did not come up (%s); see %s", node,
		         strerror(-rc), netns_log_path(c, node));
	return rc;
}

static int s_start_sshfs(netns_cluster *c, int server, int node, fs_mount *m, char *err,
                         size_t size)
{
	char remote[400], opts[1024];
	snprintf(remote, sizeof remote, "root@%s:%s/export", netns_node_addr(c, server), m->tmp);
	snprintf(opts, sizeof opts,
	         "port=%d,IdentityFile=%s/home/.ssh/id_ed25519,StrictHostKeyChecking=no,"
	         "UserKnownHostsFile=/dev/null,BatchMode=yes,LogLevel=ERROR",
	         S_SSH_PORT, m->tmp);
	char *argv[] = {"sshfs", "-f", "-F", "/dev/null", "-o", opts, remote, m->dir, NULL};
	int rc = netns_exec(c, node, argv, NULL, &m->client);
	return s_started(c, node, m, "sshfs", rc, err, size);
}

int fs_mount_sshfs(netns_cluster *c, int server_node, int client_node, fs_mount *m, char *err,
                   size_t size)
{
	if (access("/usr/sbin/sshd", X_OK) < 0 ||
	    fs_run((char *[]){"sshfs", "-V", NULL}, true) < 0) {
		snprintf(err, size,
		         "no /usr/sbin/sshd or sshfs: apt-get install openssh-server sshfs");
		return -ENOENT;
	}
	int rc = s_ssh_files(m, netns_node_addr(c, server_node));
	if (rc < 0) {
		snprintf(err, size, "sshd's files in %s: %s", m->tmp, strerror(-rc));
		return rc;
	}
	if ((rc = s_start_sshd(c, server_node, m, err, size)) < 0 ||
	    (rc = s_mount_point(m, "sshfs", err, size)) < 0)
		return rc;
	return s_start_sshfs(c, server_node, client_node, m, err, size);
}

static void s_stop(netns_cluster *c, pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	if (netns_wait(c, *pid, NULL, 5000) < 0) {
		kill(*pid, SIGKILL);
		netns_wait(c, *pid, NULL, 5000);
	}
	*pid = 0;
}

void fs_mount_stop(netns_cluster *c, fs_mount *m)
{
	if (m->dir[0]) {
		umount2(m->dir, MNT_DETACH);
		s_stop(c, &m->client);
		rmdir(m->dir);
		m->dir[0] = '\0';
	}
	s_stop(c, &m->client);
	s_stop(c, &m->server);
	if (m->tmp[0]) {
		fs_run((char *[]){"rm", "-rf", m->tmp, NULL}, true);
		m->tmp[0] = '\0';
	}
}

/* ---- NFS ---- */

static bool s_has_filesystem(const char *name)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "r");
	while (f && !found && fgets(line, sizeof line, f)) {
		char *word = strrchr(line, '\t');
		found = word && strncmp(word + 1, name, strlen(name)) == 0 &&
		        word[1 + strlen(name)] == '\n';
	}
	if (f)
		fclose(f);
	return found;
}

int fs_nfs_probe(char *why, size_t size)
{
	if (!s_has_filesystem("nfsd"))
		fs_run((char *[]){"modprobe", "-q", "nfsd", NULL}, true);
	if (!s_has_filesystem("nfsd")) {
		snprintf(why, size, "this kernel has no nfsd (modprobe nfsd failed)");
		return -ENOTSUP;
	}
	if (!s_has_filesystem("nfs") && !s_has_filesystem("nfs4")) {
		snprintf(why, size, "this kernel has no NFS client file system");
		return -ENOTSUP;
	}
	snprintf(why, size,
	         "an nfsd inside the cluster's network namespaces is not set up by "
	         "this benchmark yet");
	return -ENOTSUP;
}
