/* test_native.c — the bounded readers of src/offline/er_native.c, known answers:
 * er_read_limited at 0, limit and limit + 1 bytes from a regular file (sized
 * by fstat: refused unread, its size in the message) and from a FIFO and a
 * pipe (a stream: at most limit + 1 bytes taken, the rest left in it), a
 * missing file; er_read_head from a file position; er_read_line on short,
 * empty, CRLF, NUL-holding and over-long lines. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "er_native.h"
#include "harness.h"

static char DIR_[] = "/tmp/test_native_XXXXXX";

/* A regular file of n bytes ('a', 'b', … repeating); returns its path. */
static const char *file_of(const char *name, size_t n) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", DIR_, name);
  FILE *f = fopen(path, "wb");
  if (!f) { printf("cannot create %s\n", path); exit(1); }
  for (size_t i = 0; i < n; i++) fputc('a' + (int)(i % 26), f);
  fclose(f);
  return path;
}

/* A child writing n bytes to fd (then exiting); returns its pid. */
static pid_t writer(int fd, size_t n) {
  pid_t pid = fork();
  if (pid < 0) { printf("fork failed\n"); exit(1); }
  if (pid == 0) {
    char chunk[26 * 160]; /* a whole number of patterns: chunks join up */
    for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (char)('a' + (int)(i % 26));
    while (n) {
      size_t w = n < sizeof chunk ? n : sizeof chunk;
      if (write(fd, chunk, w) != (ssize_t)w) _exit(1); /* EPIPE: the reader stopped */
      n -= w;
    }
    _exit(0);
  }
  return pid;
}

/* A pipe with a writer of n bytes behind it, as a FILE. */
static FILE *pipe_of(size_t n, pid_t *pid) {
  int p[2];
  if (pipe(p)) { printf("pipe failed\n"); exit(1); }
  *pid = writer(p[1], n);
  close(p[1]);
  return fdopen(p[0], "rb");
}

static int is_pattern(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != 'a' + i % 26) return 0;
  return 1;
}

static void test_regular_file(void) {
  uint32_t len = 99;
  const char *why = "";
  int over = 9;
  uint8_t *b = er_read_limited(file_of("limit", 1000), 1000, &len, &why, &over);
  CHECK(b != NULL);
  CHECK_EQ_INT(len, 1000);
  CHECK_EQ_INT(over, 0);
  CHECK(b && is_pattern(b, 1000) && b[1000] == 0);
  free(b);

  b = er_read_limited(file_of("over", 1001), 1000, &len, &why, &over);
  CHECK(b == NULL);
  CHECK_EQ_INT(len, 0);
  CHECK_EQ_INT(over, 1);
  CHECK_EQ_STR(why, "1001 bytes, more than the limit of 1000 bytes");

  b = er_read_limited(file_of("huge", 100000), 1000, &len, &why, &over);
  CHECK(b == NULL && over == 1);
  CHECK_EQ_STR(why, "100000 bytes, more than the limit of 1000 bytes");

  b = er_read_limited(file_of("empty", 0), 1000, &len, &why, &over);
  CHECK(b != NULL && len == 0 && over == 0 && b[0] == 0);
  free(b);

  b = er_read_limited(file_of("zero-limit", 0), 0, &len, &why, &over); /* limit 0: only the empty input */
  CHECK(b != NULL && len == 0 && over == 0);
  free(b);
  b = er_read_limited(file_of("one", 1), 0, &len, &why, &over);
  CHECK(b == NULL && over == 1);
  CHECK_EQ_STR(why, "1 bytes, more than the limit of 0 bytes");

  /* the largest limit: sized by the file, not by the limit */
  b = er_read_limited(file_of("max", 10), UINT32_MAX, &len, &why, &over);
  CHECK(b != NULL && len == 10 && over == 0 && is_pattern(b, 10));
  free(b);

  char missing[300];
  snprintf(missing, sizeof missing, "%s/missing", DIR_);
  b = er_read_limited(missing, 1000, &len, &why, NULL); /* over_limit may be NULL */
  CHECK(b == NULL && len == 0);
  CHECK_EQ_STR(why, strerror(ENOENT));
  b = er_read_limited(missing, 1000, &len, &why, &over);
  CHECK_EQ_INT(over, 0);
}

static void test_file_position(void) {
  /* a regular file read from its current position: the size is what is left */
  FILE *f = fopen(file_of("pos", 1500), "rb");
  CHECK(f && fseek(f, 600, SEEK_SET) == 0);
  uint32_t len;
  const char *why = "";
  int over;
  uint8_t *b = er_read_head(f, 1000, &len, &why, &over);
  CHECK(b && len == 900 && over == 0 && b[0] == 'a' + 600 % 26);
  free(b);
  CHECK(fseek(f, 400, SEEK_SET) == 0);
  b = er_read_head(f, 1000, &len, &why, &over); /* 1100 left: refused, nothing read */
  CHECK(b != NULL && len == 0 && over == 1);
  CHECK_EQ_STR(why, "1100 bytes, more than the limit of 1000 bytes");
  CHECK_EQ_INT(ftell(f), 400);
  free(b);
  fclose(f);
}

static void test_fifo(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/fifo", DIR_);
  CHECK(mkfifo(path, 0600) == 0);
  static const size_t sizes[] = {0, 1000, 1001, 100000};
  for (int k = 0; k < 4; k++) {
    pid_t pid = fork();
    if (pid == 0) { /* the writer opens the FIFO; open blocks until the reader does too */
      int fd = open(path, O_WRONLY);
      if (fd < 0) _exit(1);
      waitpid(writer(fd, sizes[k]), NULL, 0);
      _exit(0);
    }
    uint32_t len = 99;
    const char *why = "";
    int over = 9;
    uint8_t *b = er_read_limited(path, 1000, &len, &why, &over);
    if (sizes[k] <= 1000) {
      CHECK(b != NULL && len == sizes[k] && over == 0 && is_pattern(b, len) && b[len] == 0);
    } else {
      CHECK(b == NULL && len == 0 && over == 1);
      CHECK_EQ_STR(why, "more than the limit of 1000 bytes"); /* a stream: its size is unknown */
    }
    free(b);
    waitpid(pid, NULL, 0);
  }
}

static void test_pipe_head(void) {
  /* over the limit: the head holds limit + 1 bytes and the rest is still in the stream */
  pid_t pid;
  FILE *f = pipe_of(100000, &pid);
  uint32_t len;
  const char *why = "";
  int over;
  uint8_t *b = er_read_head(f, 1000, &len, &why, &over);
  CHECK(b != NULL && len == 1001 && over == 1 && is_pattern(b, 1001));
  CHECK_EQ_STR(why, "more than the limit of 1000 bytes");
  free(b);
  size_t rest = 0, r;
  char chunk[4096];
  while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) rest += r;
  CHECK_EQ_INT(rest, 100000 - 1001);
  fclose(f);
  waitpid(pid, NULL, 0);

  /* exactly the limit through a pipe, with a growing buffer (limit > the first 64 KiB) */
  f = pipe_of(200000, &pid);
  b = er_read_head(f, 200000, &len, &why, &over);
  CHECK(b != NULL && len == 200000 && over == 0 && is_pattern(b, len) && b[len] == 0);
  free(b);
  fclose(f);
  waitpid(pid, NULL, 0);
}

static void test_read_line(void) {
  FILE *f = tmpfile();
  CHECK(f != NULL);
  if (!f) return;
  static const char text[] = "abc\n\nxy\r\n0123456789ABCDEF\nn\0ul\nlast";
  fwrite(text, 1, sizeof text - 1, f);
  rewind(f);
  char line[9];
  CHECK_EQ_INT(er_read_line(f, line, 8), 3);
  CHECK_EQ_STR(line, "abc");
  CHECK_EQ_INT(er_read_line(f, line, 8), 0); /* an empty line */
  CHECK_EQ_STR(line, "");
  CHECK_EQ_INT(er_read_line(f, line, 8), 3); /* CRLF: the '\r' is kept */
  CHECK_EQ_STR(line, "xy\r");
  CHECK_EQ_INT(er_read_line(f, line, 8), 16); /* too long: its full length, its first 8 bytes */
  CHECK_EQ_STR(line, "01234567");
  CHECK_EQ_INT(er_read_line(f, line, 8), 4); /* the rest of the long line was dropped */
  CHECK(!memcmp(line, "n\0ul", 5));
  CHECK_EQ_INT(er_read_line(f, line, 8), 4); /* a last line without '\n' */
  CHECK_EQ_STR(line, "last");
  CHECK_EQ_INT(er_read_line(f, line, 8), -1);
  CHECK(!ferror(f));
  fclose(f);
}

int main(void) {
  if (!mkdtemp(DIR_)) { printf("mkdtemp failed\n"); return 1; }
  RUN(test_regular_file);
  RUN(test_file_position);
  RUN(test_fifo);
  RUN(test_pipe_head);
  RUN(test_read_line);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
  if (system(cmd)) printf("could not remove %s\n", DIR_);
  return DONE();
}
