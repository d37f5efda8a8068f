/* fuzz_common.h — helpers shared by the libFuzzer targets: locating and
 * loading the sample bundles (env EDGEREC_FUZZ_BUNDLE, else relative to the
 * fuzzer binary: build/fuzz/fuzz_x → build/sample.erb). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerec.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static char fuzz_self_dir[4096] = ".";

/* Remember the directory of the fuzzer binary (from argv[0]). */
static inline void fuzz_set_self(const char *argv0) {
  if (!argv0) return;
  const char *slash = strrchr(argv0, '/');
  if (!slash) return;
  size_t n = (size_t)(slash - argv0);
  if (n >= sizeof fuzz_self_dir) return;
  memcpy(fuzz_self_dir, argv0, n);
  fuzz_self_dir[n] = 0;
}

static inline uint8_t *fuzz_read_file(const char *path, uint32_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1 << 16;
      uint8_t *p = realloc(buf, cap);
      if (!p) { free(buf); fclose(f); return NULL; }
      buf = p;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    if (!r) break;
    n += r;
  }
  fclose(f);
  *len = (uint32_t)n;
  return buf;
}

/* Load a bundle: `env` (if set) else <self>/../<name>.  The bytes are kept
 * for the life of the process (the engine reads them in place).  With
 * `required`, a missing bundle aborts the fuzzer with a clear message. */
static inline er_engine *fuzz_engine(const char *env, const char *name, int required) {
  char path[4200];
  const char *p = env ? getenv(env) : NULL;
  if (p && *p) snprintf(path, sizeof path, "%s", p);
  else snprintf(path, sizeof path, "%s/../%s", fuzz_self_dir, name);
  uint32_t len = 0;
  uint8_t *buf = fuzz_read_file(path, &len);
  if (!buf) {
    if (!required) return NULL;
    fprintf(stderr, "fuzz: cannot read bundle %s (run ./build.sh first or set %s)\n", path, env ? env : "");
    exit(2);
  }
  er_error err;
  er_engine *e = er_engine_new(buf, len, &err);
  if (!e) {
    fprintf(stderr, "fuzz: bundle %s does not load: %s\n", path, err.msg);
    exit(2);
  }
  return e;
}

/* Reason tokens er_rerank may report when it declines (edgerec.h). */
static inline int fuzz_known_reason(const char *r) {
  static const char *ok[] = {"errors", "no-items", "shape", "json", "limit", "budget", "no-known-items", "context"};
  if (!r) return 0;
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
    if (!strcmp(r, ok[k])) return 1;
  return 0;
}

#endif
