/*
 * stats.c: counters, the stats file, the seed and strict mode.
 *
 * CUDASIM_STATS=/path names a JSON file holding every counter, rewritten
 * (atomically: written beside it, then renamed) at every
 * cuStreamSynchronize and at process exit, so that a test can assert what
 * a stretch of work cost: {"counters": {"allocs": 3, ...}, "sticky": 0,
 * "sticky_message": ""}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core.h"

#define MAX_COUNTERS 128

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[48];
	uint64_t n;
} counters[MAX_COUNTERS];
static int ncounters;

CS_API void cudasim_count(const char *counter, uint64_t n) {
	pthread_mutex_lock(&mu);
	int i = 0;
	while (i < ncounters && strcmp(counters[i].name, counter) != 0) i++;
	if (i == ncounters) {
		if (ncounters == MAX_COUNTERS) {
			pthread_mutex_unlock(&mu);
			return;
		}
		snprintf(counters[i].name, sizeof counters[i].name, "%s", counter);
		counters[i].n = 0;
		ncounters++;
	}
	counters[i].n += n;
	pthread_mutex_unlock(&mu);
}

void cs_count_api(void) { CUDASIM_API_CALL(); }

CS_API void cudasim_api_call(void) {
	cs_hazard_discard();
	cudasim_count("api_calls", 1);
}

static void json_string(FILE *f, const char *s) {
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
		else if (c < 0x20) fprintf(f, "\\u%04x", c);
		else fputc(c, f);
	}
	fputc('"', f);
}

void cs_stats_write(void) {
	const char *path = getenv("CUDASIM_STATS");
	if (path == NULL || *path == 0) return;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
	pthread_mutex_lock(&mu);
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		pthread_mutex_unlock(&mu);
		return;
	}
	fputs("{\"counters\": {", f);
	for (int i = 0; i < ncounters; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_string(f, counters[i].name);
		fprintf(f, ": %" PRIu64, counters[i].n);
	}
	fprintf(f, "}, \"sticky\": %d, \"sticky_message\": ", cudasim_sticky());
	json_string(f, cs_sticky_message());
	fputs("}\n", f);
	int bad = fclose(f) != 0;
	if (bad || rename(tmp, path) != 0) unlink(tmp);
	pthread_mutex_unlock(&mu);
}

__attribute__((destructor)) static void write_at_exit(void) { cs_stats_write(); }

/* The seed: CUDASIM_SEED (decimal), else a fixed default. */
CS_API uint64_t cudasim_seed(void) {
	const char *e = getenv("CUDASIM_SEED");
	if (e != NULL && *e != 0) return strtoull(e, NULL, 10);
	return 0x5eed0c0dau;
}

CS_API int cudasim_strict(void) {
	const char *e = getenv("CUDASIM_STRICT");
	return e == NULL || strcmp(e, "0") != 0;
}
