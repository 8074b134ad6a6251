/*
 * fuzz.h — what the harnesses share: FUZZ_CHECK, a promise the code under test must keep.
 *
 * Entry points: FUZZ_CHECK, fuzz_broken, fuzz_terminated.
 *
 * A broken promise is reported as a sanitizer's report is (libFuzzer closes the target's
 * standard error, -close_fd_mask, but keeps the sanitizers' report descriptor) and aborts, so
 * that libFuzzer keeps the input. Run the harness on that input alone to read it on stderr.
 */
#ifndef PLEXUS_FUZZ_H
#define PLEXUS_FUZZ_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/common_interface_defs.h>

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_broken(__FILE__, __LINE__, #cond);                                    \
	} while (0)

static inline _Noreturn void fuzz_broken(const char *file, int line, const char *what)
{
	char text[512];
	snprintf(text, sizeof text, "broken promise at %s:%d: %s", file, line, what);
	fprintf(stderr, "%s\n", text);
	__sanitizer_report_error_summary(text);
	abort();
}

/* A fixed-size text field ends inside its array. */
static inline bool fuzz_terminated(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

#endif
