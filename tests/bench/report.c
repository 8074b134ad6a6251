/*
 * report.c — sample statistics and benchmark reports.
 *
 * Entry points: bench_now_ns, bench_samples_new, bench_samples_add, bench_samples_percentile,
 * bench_samples_destroy, bench_report_new, bench_report_add, bench_report_print,
 * bench_report_destroy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

struct bench_samples {
	double *values;
	size_t n, cap;
	bool sorted;
};

typedef struct bench_case {
	char name[64];
	char metric[32];
	double plexus;
	char baseline[64];
	double baseline_value;
	double ratio;
} bench_case;

struct bench_report {
	char bench[32];
	bench_case *cases;
	size_t n, cap;
};

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bench_samples *bench_samples_new(size_t expected)
{
	bench_samples *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->cap = expected ? expected : 16;
	self->values = malloc(self->cap * sizeof *self->values);
	if (!self->values) {
		free(self);
		return NULL;
	}
	return self;
}

void bench_samples_add(bench_samples *self, double value)
{
	if (self->n == self->cap) {
		double *grown = realloc(self->values, 2 * self->cap * sizeof *grown);
		if (!grown)
			return;
		self->values = grown;
		self->cap *= 2;
	}
	self->values[self->n++] = value;
	self->sorted = false;
}

static int s_compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_samples_percentile(bench_samples *self, double p)
{
	if (self->n == 0)
		return 0;
	if (!self->sorted) {
		qsort(self->values, self->n, sizeof *self->values, s_compare);
		self->sorted = true;
	}
	size_t i = (size_t)(p / 100.0 * (double)(self->n - 1) + 0.5);
	return self->values[i < self->n ? i : self->n - 1];
}

void bench_samples_destroy(bench_samples **self_p)
{
	if (!self_p || !*self_p)
		return;
	free((*self_p)->values);
	free(*self_p);
	*self_p = NULL;
}

bench_report *bench_report_new(const char *bench)
{
	bench_report *self = calloc(1, sizeof *self);
	if (self)
		snprintf(self->bench, sizeof self->bench, "%s", bench);
	return self;
}

void bench_report_add(bench_report *self, const char *name, const char *metric, double plexus,
                      const char *baseline, double baseline_value, bool lower_is_better)
{
	if (self->n == self->cap) {
		size_t cap = self->cap ? 2 * self->cap : 16;
		bench_case *grown = realloc(self->cases, cap * sizeof *grown);
		if (!grown)
			return;
		self->cases = grown;
		self->cap = cap;
	}
	bench_case *c = &self->cases[self->n++];
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->metric, sizeof c->metric, "%s", metric);
	snprintf(c->baseline, sizeof c->baseline, "%s", baseline);
	c->plexus = plexus;
	c->baseline_value = baseline_value;
	double num = lower_is_better ? plexus : baseline_value;
	double den = lower_is_better ? baseline_value : plexus;
	c->ratio = den > 0 ? num / den : 0;
}

static void s_print_json(const bench_report *self)
{
	printf("{\"bench\": \"%s\", \"cases\": [", self->bench);
	for (size_t i = 0; i < self->n; i++) {
		const bench_case *c = &self->cases[i];
		printf("%s\n  {\"name\": \"%s\", \"metric\": \"%s\", \"plexus\": %.3f, "
		       "\"baseline\": \"%s\", \"baseline_value\": %.3f, \"ratio\": %.3f}",
		       i ? "," : "", c->name, c->metric, c->plexus, c->baseline, c->baseline_value,
		       c->ratio);
	}
	printf("]}\n");
}

static void s_print_table(const bench_report *self)
{
	printf("plexus bench %s (ratio = Plexus cost / baseline cost; 1.0 is parity, lower is "
	       "better)\n\n",
	       self->bench);
	printf("%-30s %-11s %12s %12s  %-28s %6s\n", "case", "metric", "plexus", "baseline",
	       "baseline is", "ratio");
	for (size_t i = 0; i < self->n; i++) {
		const bench_case *c = &self->cases[i];
		printf("%-30s %-11s %12.1f %12.1f  %-28s %6.2f\n", c->name, c->metric, c->plexus,
		       c->baseline_value, c->baseline, c->ratio);
	}
}

void bench_report_print(const bench_report *self, bool json)
{
	if (json)
		s_print_json(self);
	else
		s_print_table(self);
	fflush(stdout);
}

void bench_report_destroy(bench_report **self_p)
{
	if (!self_p || !*self_p)
		return;
	free((*self_p)->cases);
	free(*self_p);
	*self_p = NULL;
}
