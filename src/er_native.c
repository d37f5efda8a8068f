/* er_native.c — file reads, clock and memory figures for the native tools. */
#define _POSIX_C_SOURCE 200809L
#include "er_native.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef __wasi__
#include <sys/resource.h>
#endif
#include <time.h>

uint8_t *er_read_all(const char *path, uint32_t *len, const char **why) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  *len = 0;
  if (!f) { *why = strerror(errno); return NULL; }
  size_t cap = 65536, n = 0;
  uint8_t *buf = malloc(cap + 1);
  for (;;) {
    if (!buf) { *why = "out of memory"; break; }
    if (n == cap) {
      if (cap >= 0x40000000u) { free(buf); buf = NULL; *why = "file larger than 1 GiB"; break; }
      uint8_t *nb = realloc(buf, cap * 2 + 1);
      if (!nb) { free(buf); buf = NULL; *why = "out of memory"; break; }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) {
      if (ferror(f)) { free(buf); buf = NULL; *why = "read error"; }
      break;
    }
  }
  if (f != stdin) fclose(f);
  if (buf) {
    buf[n] = 0;
    *len = (uint32_t)n;
  }
  return buf;
}

double er_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t er_peak_rss_kib(void) {
#ifdef __wasi__
  return 0; /* WASI has no process accounting */
#else
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return 0;
  return (uint64_t)ru.ru_maxrss;
#endif
}
