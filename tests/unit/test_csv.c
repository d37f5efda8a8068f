/* test_csv.c — the streaming CSV reader (src/offline/er_csv.c). */
#include "harness.h"
#include "../../src/offline/er_csv.c"

#include <stdlib.h>

static FILE *mem(const char *s, size_t n) {
  FILE *f = tmpfile();
  if (!f) { printf("tmpfile failed\n"); exit(1); }
  fwrite(s, 1, n, f);
  rewind(f);
  return f;
}
#define MEM(lit) mem(lit, sizeof(lit) - 1)

static int feq(const er_csv_field *f, const char *s) { return f->len == strlen(s) && !memcmp(f->p, s, f->len) && f->p[f->len] == 0; }

static void test_basic(void) {
  FILE *f = MEM("a,b,c\n1,,3\n");
  er_csv_reader r;
  er_csv_init(&r, f, 0, 0);
  const er_csv_field *fl;
  uint32_t n;
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(n, 3);
  CHECK_EQ_INT(r.row_line, 1);
  CHECK(feq(&fl[0], "a") && feq(&fl[1], "b") && feq(&fl[2], "c"));
  CHECK_EQ_INT(er_csv_column(fl, n, "c"), 2);
  CHECK_EQ_INT(er_csv_column(fl, n, "d"), -1);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(n, 3);
  CHECK_EQ_INT(r.row_line, 2);
  CHECK(feq(&fl[0], "1") && feq(&fl[1], "") && feq(&fl[2], "3"));
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 0);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 0);
  CHECK_EQ_INT(r.rows, 2);
  er_csv_free(&r);
  fclose(f);
}

static void test_quotes_bom_crlf(void) {
  FILE *f = MEM("\xEF\xBB\xBFsku,desc\r\n\"A,1\",\"<p>x \"\"q\"\"\r\nline2\nline3</p>\"\r\n\r\n\nB,\"\"\rC,last,\n");
  er_csv_reader r;
  er_csv_init(&r, f, 0, 0);
  const er_csv_field *fl;
  uint32_t n;
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK(n == 2 && feq(&fl[0], "sku") && feq(&fl[1], "desc")); /* BOM stripped */
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(r.row_line, 2);
  CHECK(n == 2 && feq(&fl[0], "A,1") && feq(&fl[1], "<p>x \"q\"\r\nline2\nline3</p>"));
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1); /* two blank lines skipped */
  CHECK_EQ_INT(r.row_line, 7);
  CHECK(n == 2 && feq(&fl[0], "B") && feq(&fl[1], ""));
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1); /* lone CR ended the row */
  CHECK_EQ_INT(r.row_line, 8);
  CHECK(n == 3 && feq(&fl[0], "C") && feq(&fl[1], "last") && feq(&fl[2], ""));
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 0);
  er_csv_free(&r);
  fclose(f);
}

static void test_no_final_newline_and_literal_quote(void) {
  FILE *f = MEM("x,ab\"c\n\"\",y");
  er_csv_reader r;
  er_csv_init(&r, f, 0, 0);
  const er_csv_field *fl;
  uint32_t n;
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK(n == 2 && feq(&fl[1], "ab\"c"));
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK(n == 2 && feq(&fl[0], "") && feq(&fl[1], "y"));
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 0);
  er_csv_free(&r);
  fclose(f);
}

static void test_empty_input(void) {
  FILE *f = MEM("");
  er_csv_reader r;
  er_csv_init(&r, f, 0, 0);
  const er_csv_field *fl;
  uint32_t n = 9;
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 0);
  CHECK_EQ_INT(n, 0);
  er_csv_free(&r);
  fclose(f);
  f = MEM("\xEF\xBB\xBF\r\n");
  er_csv_init(&r, f, 0, 0);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 0);
  er_csv_free(&r);
  fclose(f);
}

static void test_errors(void) {
  const er_csv_field *fl;
  uint32_t n;
  er_csv_reader r;
  FILE *f = MEM("a\nb,\"open\nstill\n");
  er_csv_init(&r, f, 0, 0);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), -1);
  CHECK_EQ_INT(r.err.code, ER_E_SHAPE);
  CHECK(strstr(r.err.msg, "line 2") != NULL);
  CHECK(strstr(r.err.msg, "quoted") != NULL);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), -1); /* sticky */
  er_csv_free(&r);
  fclose(f);

  f = MEM("a,b\n\"x\"y,z\n");
  er_csv_init(&r, f, 0, 0);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), -1);
  CHECK(strstr(r.err.msg, "line 2") && strstr(r.err.msg, "closing quote"));
  er_csv_free(&r);
  fclose(f);

  f = MEM("short\n0123456789abcdef,x\n");
  er_csv_init(&r, f, 10, 0);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), -1);
  CHECK_EQ_INT(r.err.code, ER_E_LIMIT);
  CHECK(strstr(r.err.msg, "line 2") && strstr(r.err.msg, "maximum row size"));
  er_csv_free(&r);
  fclose(f);

  f = MEM("a,b,c,d\n");
  er_csv_init(&r, f, 0, 3);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), -1);
  CHECK_EQ_INT(r.err.code, ER_E_LIMIT);
  er_csv_free(&r);
  fclose(f);

  f = MEM("\xEF\xBB" "a\n");
  er_csv_init(&r, f, 0, 0);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), -1);
  er_csv_free(&r);
  fclose(f);
}

/* Fields crossing the 64 KiB read buffer, "" escapes at the boundary. */
static void test_large(void) {
  size_t big = 200000;
  char *s = malloc(2 * big + 64);
  char *want = malloc(big + 1);
  size_t o = 0, w = 0;
  memcpy(s, "k,\"", 3);
  o = 3;
  while (w < big - 10) {
    if (w % 997 == 0) { s[o++] = '"'; s[o++] = '"'; want[w++] = '"'; }
    else if (w % 1009 == 0) { s[o++] = '\n'; want[w++] = '\n'; }
    else { char ch = (char)('a' + w % 26); s[o++] = ch; want[w++] = ch; }
  }
  want[w] = 0;
  memcpy(s + o, "\"\nnext,1\n", 9);
  o += 9;
  FILE *f = mem(s, o);
  er_csv_reader r;
  er_csv_init(&r, f, 0, 0);
  const er_csv_field *fl;
  uint32_t n;
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_INT(fl[1].len, w);
  CHECK(fl[1].len == w && !memcmp(fl[1].p, want, w));
  uint64_t nl = 0;
  for (size_t i = 0; i < w; i++) nl += want[i] == '\n';
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 1);
  CHECK_EQ_INT(r.row_line, 2 + nl);
  CHECK(n == 2 && feq(&fl[0], "next"));
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), 0);
  er_csv_free(&r);
  fclose(f);
  /* the same row over a 100 KB limit */
  f = mem(s, o);
  er_csv_init(&r, f, 100000, 0);
  CHECK_EQ_INT(er_csv_next(&r, &fl, &n), -1);
  CHECK_EQ_INT(r.err.code, ER_E_LIMIT);
  er_csv_free(&r);
  fclose(f);
  free(s);
  free(want);
}

int main(void) {
  RUN(test_basic);
  RUN(test_quotes_bom_crlf);
  RUN(test_no_final_newline_and_literal_quote);
  RUN(test_empty_input);
  RUN(test_errors);
  RUN(test_large);
  return DONE();
}
