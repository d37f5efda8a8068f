/* er_native.h — what the native tools (CLI, trainer, evaluator) share and the
 * engine never needs: whole-file reads, a monotonic clock for progress lines,
 * peak memory, and the one seeded RNG.  Not linked into the WASM reactor. */
#ifndef ER_NATIVE_H
#define ER_NATIVE_H

#include <stdint.h>

/* Read a whole file ("-" = standard input) into a malloc'd buffer (one spare
 * byte, NUL, after the data).  NULL on failure with *why set (strerror text,
 * "out of memory", "file larger than 1 GiB"). */
uint8_t *er_read_all(const char *path, uint32_t *len, const char **why);
/* Seconds on a monotonic clock (for elapsed times in progress lines). */
double er_now_seconds(void);
/* Peak resident set size of this process in KiB (0 when unknown). */
uint64_t er_peak_rss_kib(void);

/* splitmix64: the trainer's one RNG (deterministic for a seed). */
static inline uint64_t er_splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Uniform in [0, 1) from er_splitmix64. */
static inline double er_unit_random(uint64_t *s) { return (double)(er_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0); }

#endif
