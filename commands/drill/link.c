/*
 * link.c — the bridge port a node's link hangs on, for a partition on a cluster this machine
 * bridges (a QEMU cluster's taps, a rack node behind a Linux bridge here) (drill.h).
 *
 * Entry points: drill_bridge_port.
 *
 * The node's IPv4 address gives its MAC address (the kernel's neighbour table,
 * /proc/net/arp, which is this process's network namespace's); the bridges' forwarding
 * database (`bridge fdb show`, over netlink: /sys/class/net would show the namespace sysfs
 * was mounted in, not the one a process entered with setns) gives the port that learned it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "drill.h"

/* The MAC address (6 bytes) the neighbour table holds for ip. Returns 0 or -ENOENT. */
static int s_neighbour_mac(const char *ip, unsigned char mac[6])
{
	FILE *f = fopen("/proc/net/arp", "re");
	char line[256], addr[64], hw[64];
	unsigned type, flags;
	int rc = -ENOENT;
	while (f && rc < 0 && fgets(line, sizeof line, f))
		if (sscanf(line, "%63s 0x%x 0x%x %63s", addr, &type, &flags, hw) == 4 &&
		    strcmp(addr, ip) == 0 && (flags & 0x2) &&
		    sscanf(hw, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		           &mac[4], &mac[5]) == 6)
			rc = 0;
	if (f)
		fclose(f);
	return rc;
}

int drill_bridge_port(const char *ip, char *out, size_t size)
{
	unsigned char mac[6];
	if (s_neighbour_mac(ip, mac) < 0)
		return -ENOENT;
	char want[32], line[512], addr[64], dev[64], iface[64];
	snprintf(want, sizeof want, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
	         mac[4], mac[5]);
	FILE *p = popen("bridge fdb show 2>/dev/null", "re");
	int rc = -ENOENT;
	while (p && fgets(line, sizeof line, p))
		if (rc < 0 && sscanf(line, "%63s %63s %63s", addr, dev, iface) == 3 &&
		    strcasecmp(addr, want) == 0 && strcmp(dev, "dev") == 0 &&
		    strstr(line, " master ") && !strstr(line, "permanent") &&
		    strlen(iface) < size) {
			memcpy(out, iface, strlen(iface) + 1);
			rc = 0;
		}
	if (p)
		pclose(p);
	return rc;
}
