/*
 * tty.h — plexus-tty, the terminal driver: what its files share.
 *
 * Minors: 0 is the node console (console.c: a device, or the process's stdin and stdout);
 * pseudo-terminal pair k (0 <= k < --ptys) is master TTY_MASTER(k) and slave TTY_SLAVE(k), as a
 * remote shell's server holds the master and the shell the slave. The console and every slave
 * are terminals (line.c: a line discipline: canonical mode with erase, kill and EOF, echo, raw
 * mode); a master reads what its slave writes (and the echo) and writes its slave's input.
 *
 * Locking: one lock (ttys.lock) guards every terminal. Callbacks take it; so does the console
 * thread when input arrives. Requests are suspended and taken back under it, so input that
 * arrives while a read is being suspended is never missed.
 */
#ifndef PLEXUS_TTY_H
#define PLEXUS_TTY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plexus/chardriver.h>

#define TTY_CONSOLE      0
#define TTY_MASTER_BASE  64
#define TTY_SLAVE_BASE   128
#define TTY_PTYS_MAX     64
#define TTY_PTYS_DEFAULT 8
#define TTY_MASTER(k)    (TTY_MASTER_BASE + (k))
#define TTY_SLAVE(k)     (TTY_SLAVE_BASE + (k))
#define TTY_LINE_MAX     1024  /* a canonical line being edited */
#define TTY_BUF_MAX      65536 /* input waiting to be read; output waiting for the master */
#define TTY_BREAKS_MAX   1024  /* completed lines waiting to be read */

/* Control characters (the defaults of termios). */
#define TTY_ERASE 0x7f /* DEL; ^H (0x08) erases too */
#define TTY_KILL  0x15 /* ^U */
#define TTY_EOF   0x04 /* ^D */

/* A queue of bytes. */
typedef struct ttybuf {
	char data[TTY_BUF_MAX];
	size_t head, len;
} ttybuf;

/* One terminal: the console or a pty slave (whose master reads out). */
typedef struct tty {
	uint32_t mode; /* TtyMode bits: TTY_CANON, TTY_ECHO */
	char line[TTY_LINE_MAX];
	size_t line_len;
	ttybuf in;                       /* input ready to be read */
	uint64_t in_added, in_taken;     /* bytes ever put into in, taken out of it */
	uint64_t breaks[TTY_BREAKS_MAX]; /* in_added at each line end (or EOF), oldest first */
	size_t nbreaks;
	ttybuf out; /* pty: output for the master */
	int out_fd; /* console: output goes here; -1 for a pty */
	bool is_pty;
} tty;

/* ---- line.c: the line discipline, under the lock ---- */

/* Sets a terminal to its defaults: canonical with echo. out_fd -1 for a pty slave. */
void tty_init(tty *t, int out_fd);
/* Input from the keyboard side (console input, a master's write). */
void tty_input(tty *t, const char *data, size_t size);
/* Output from the terminal's side (a slave's or the console's write, echo). Returns the bytes
 * taken: all for the console, what fits for a pty. */
size_t tty_output(tty *t, const char *data, size_t size);
/* True when a read would return at once (data, or an end of file in canonical mode). */
bool tty_readable(const tty *t);
/* Reads as a read() on the terminal would: at most size bytes, one line in canonical mode,
 * 0 for an end of file. Call only when tty_readable. */
size_t tty_read(tty *t, char *buf, size_t size);
/* Changes the mode; a partial line goes to the input as it is when canonical mode ends. */
void tty_set_mode(tty *t, uint32_t mode);
/* Discards pending input. */
void tty_flush(tty *t);
/* Queue helpers. */
size_t ttybuf_put(ttybuf *b, const char *data, size_t size);
size_t ttybuf_get(ttybuf *b, char *buf, size_t size);
size_t ttybuf_space(const ttybuf *b);

/* ---- device.c: the driver ---- */

typedef struct ttys {
	pthread_mutex_t lock;
	tty console;
	tty *ptys; /* nptys slaves */
	int nptys;
	plx_chardriver *driver; /* set once it runs */
	int console_in;         /* -1: no console input */
	pthread_t reader;
	bool reading;
	void (*typed)(struct ttys *self, int k); /* console input arrived: answer its waiters */
	int stop_pipe[2];
} ttys;

/* The character callbacks; their arg is a ttys. */
extern const plx_chardriver_ops ttydev_ops;
/* Answers what waits on t (index -1: the console, else pty k) now that it has changed, and
 * reports readiness. Under the lock. */
void ttys_wake(ttys *self, int k);

/* ---- console.c ---- */

/* Starts the thread that feeds console input (self->console_in) to the console and then calls
 * typed(self, -1) under the lock (device.c gives ttys_wake). Returns 0 or a negative errno. */
int console_start(ttys *self, void (*typed)(ttys *self, int k));
/* Stops and joins it. Accepts a console that never started. */
void console_stop(ttys *self);

#endif
