/*
 * address.c — the addresses the transport speaks: inproc://, ipc:// and tcp://, a secured
 * endpoint's with its CURVE key first ("curve:KEY@tcp://..."), and the key's own check.
 *
 * Entry points: plx__address_local, plx__address_ok, plx__address_plain, plx__key_ok.
 */
#include <string.h>

#include "internal.h"

/* True for an in-process address (inproc://): the peer is in this process. */
bool plx__address_local(const char *address)
{
	return strncmp(address, "inproc://", 9) == 0;
}

/* True for the address kinds Plexus speaks: inproc://, ipc:// and tcp://, each with
 * something after the scheme. */
bool plx__address_ok(const char *address)
{
	static const char *const schemes[] = {"inproc://", "ipc://", "tcp://"};
	char key[PLX_KEY_TEXT];
	if (address && strncmp(address, "curve:", 6) == 0) /* a secured endpoint's: its key first */
		address = plx__address_plain(address, key);
	for (size_t i = 0; address && i < sizeof schemes / sizeof *schemes; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(address, schemes[i], n) == 0 && address[n] != '\0')
			return true;
	}
	return false;
}

/* A CURVE public key in Z85: 40 characters that decode. */
bool plx__key_ok(const char *key)
{
	uint8_t bin[32];
	return key && strlen(key) == PLX_KEY_TEXT - 1 && zmq_z85_decode(bin, key) != NULL;
}

const char *plx__address_plain(const char *address, char key[PLX_KEY_TEXT])
{
	key[0] = '\0';
	if (strncmp(address, "curve:", 6) != 0)
		return address;
	/* the key is 40 characters of Z85, which has '@' too: the separator is at a fixed place */
	if (strnlen(address, 6 + PLX_KEY_TEXT) < 6 + PLX_KEY_TEXT ||
	    address[6 + PLX_KEY_TEXT - 1] != '@')
		return NULL;
	const char *at = address + 6 + PLX_KEY_TEXT - 1;
	memcpy(key, address + 6, PLX_KEY_TEXT - 1);
	key[PLX_KEY_TEXT - 1] = '\0';
	return plx__key_ok(key) ? at + 1 : NULL;
}
