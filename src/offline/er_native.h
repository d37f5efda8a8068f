/* er_native.h — what the native tools (CLI, trainer, evaluator) share and the
 * engine never needs: bounded file and line reads, a monotonic clock for
 * progress lines, peak memory, and the one seeded RNG.  Not linked into the
 * WASM reactor (the WASI CLI links it). */
#ifndef ER_NATIVE_H
#define ER_NATIVE_H

#include <stdint.h>
#include <stdio.h>

/* Read a file ("-" = standard input) of at most limit bytes into a malloc'd
 * buffer, with one spare byte, NUL, after the data; *len is the data's length.
 *
 * Memory is bounded by the limit, never by the input: a regular file is sized
 * with fstat first and read into one buffer of its size + 1 (at least 64 KiB,
 * at most limit + 1), and one larger than limit is refused without reading it;
 * a pipe or terminal is read into a buffer that starts at 64 KiB and grows
 * geometrically up to limit + 1 bytes, and at most limit + 1 bytes are taken
 * from it (stdio may buffer one block more).
 *
 * Returns NULL on failure, with *len = 0 and *why set:
 *   over the limit  *over_limit = 1, *why = "9000024 bytes, more than the limit
 *                   of 65536 bytes" (a regular file: its size from the current
 *                   position) or "more than the limit of 65536 bytes" (a stream);
 *   otherwise       *over_limit = 0, *why = strerror text, "read error" or
 *                   "out of memory".
 * *why may point to a static buffer, valid until the next call.  over_limit may
 * be NULL.  limit must be below UINT32_MAX (larger values are taken as
 * UINT32_MAX - 1). */
uint8_t *er_read_limited(const char *path, uint32_t limit, uint32_t *len, const char **why, int *over_limit);

/* er_read_limited for a command's named input (what: "context", "bundle", …).
 * On failure returns NULL and sets *msg to a line without the program's name,
 * naming the input by path or "(stdin)" for "-":
 *   over the limit  "context (stdin): more than the limit of 65536 bytes"
 *   otherwise       "cannot read bundle x.erb: No such file or directory"
 * (a static buffer, valid until the next call). */
uint8_t *er_read_input(const char *what, const char *path, uint32_t limit, uint32_t *len, const char **msg, int *over_limit);

/* er_read_limited on an open stream, for passing an oversized input through
 * unchanged: an input over the limit is not freed but returned with
 * *over_limit = 1, holding what was read of it (limit + 1 bytes, or none when
 * fstat alone told), and the rest is left unread in f.  NULL only on a read
 * error or out of memory. */
uint8_t *er_read_head(FILE *f, uint32_t limit, uint32_t *len, const char **why, int *over_limit);

/* Read the next line of f into line (room for max + 1 bytes).  Returns the
 * line's full length without its '\n' and keeps its first min(length, max)
 * bytes in line, then a NUL; the rest of a longer line is read and dropped,
 * never stored, so a caller detects an over-long line as a return above max.
 * Returns -1 at the end of input or on a read error (ferror(f) tells which).
 * Bytes are kept as they are (a '\r' before the '\n', NULs). */
int64_t er_read_line(FILE *f, char *line, uint32_t max);
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
