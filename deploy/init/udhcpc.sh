#!/bin/sh
# udhcpc.sh — busybox udhcpc's script in the netboot image: configures the interface from the
# lease and leaves its values in /run/plexus/lease for plexus-init (KEY=VALUE lines).
case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	if [ -n "$router" ]; then
		for r in $router; do
			ip route add default via "$r" dev "$interface" && break
		done
	fi
	{
		echo "ip=$ip"
		echo "mask=${mask:-24}"
		echo "router=$router"
		echo "serverid=$serverid"
		echo "siaddr=$siaddr"
		echo "hostname=$hostname"
		echo "interface=$interface"
	} >/run/plexus/lease
	;;
esac
exit 0
