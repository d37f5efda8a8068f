/* test_import.c — the event importers (src/offline/er_import.c): CSV quoting, CRLF,
 * BOM, embedded newlines, type maps, session-gap splitting, timestamp parsing
 * with hand-checked values, malformed-row counting, the OTTO and Online Retail
 * mappings.  Every line written is checked against the event contract
 * (er_event_parse with ER_EVENT_REQUIRE_ALL).  er_import.c is not part of
 * ENGINE_SRC, so it is included here directly. */
#include <stdio.h>
#include <string.h>

#include "../../src/offline/er_import.c"
#include "er_event.h"
#include "harness.h"

static char OUT[1 << 16];
static er_import_stats ST;
static char ERR[300];
static jsmntok_t TOK[ER_MAX_EVENT_TOKENS];

/* Run one importer (0 csv, 1 online-retail, 2 otto) on `input`; output in OUT. */
static int run(int kind, const char *input, const er_import_csv_opts *o) {
  FILE *in = tmpfile(), *out = tmpfile();
  if (!in || !out) { printf("tmpfile failed\n"); return -1; }
  fwrite(input, 1, strlen(input), in);
  rewind(in);
  ERR[0] = 0;
  int rc = kind == 0 ? er_import_csv(in, out, o, &ST, ERR, sizeof ERR)
         : kind == 1 ? er_import_online_retail(in, out, &ST, ERR, sizeof ERR)
                     : er_import_otto(in, out, &ST, ERR, sizeof ERR);
  rewind(out);
  size_t n = fread(OUT, 1, sizeof OUT - 1, out);
  OUT[n] = 0;
  fclose(in);
  fclose(out);
  return rc;
}

/* Every output line is a valid logged event; returns how many lines. */
static int lines_valid(void) {
  int n = 0;
  const char *p = OUT;
  while (*p) {
    const char *nl = strchr(p, '\n');
    if (!nl) { CHECK(!"output ends without a newline"); break; }
    er_event ev;
    er_error e;
    er_error_clear(&e);
    er_status s = er_event_parse(&ev, p, (uint32_t)(nl - p), TOK, ER_MAX_EVENT_TOKENS, ER_EVENT_REQUIRE_ALL, &e);
    if (s) printf("invalid event: %.*s (%s)\n", (int)(nl - p), p, e.msg);
    CHECK_EQ_INT(s, ER_OK);
    n++;
    p = nl + 1;
  }
  return n;
}

/* The n-th output line (0-based) as a NUL-terminated copy. */
static const char *line_at(int k) {
  static char l[4096];
  const char *p = OUT;
  for (int i = 0; i < k && p; i++) { p = strchr(p, '\n'); if (p) p++; }
  if (!p || !*p) return "";
  const char *nl = strchr(p, '\n');
  size_t n = nl ? (size_t)(nl - p) : strlen(p);
  if (n >= sizeof l) n = sizeof l - 1;
  memcpy(l, p, n);
  l[n] = 0;
  return l;
}

static er_import_csv_opts opts(void) {
  er_import_csv_opts o;
  memset(&o, 0, sizeof o);
  o.sep = ','; o.session_gap = 1800; o.ts_format = ER_TS_UNIX;
  o.session = "s"; o.item = "i"; o.ts = "t";
  return o;
}

static void test_timestamps(void) {
  int64_t ms = -1;
  CHECK_EQ_INT(er_import_days_from_civil(1970, 1, 1), 0);
  CHECK_EQ_INT(er_import_days_from_civil(1969, 12, 31), -1);
  CHECK_EQ_INT(er_import_days_from_civil(2000, 3, 1), 11017);
  CHECK_EQ_INT(er_import_parse_iso8601("2010-12-01 08:26:00", 19, &ms), 0); CHECK_EQ_INT(ms, 1291191960000LL);
  CHECK_EQ_INT(er_import_parse_iso8601("2010-12-01T08:26:00", 19, &ms), 0); CHECK_EQ_INT(ms, 1291191960000LL);
  CHECK_EQ_INT(er_import_parse_iso8601("2011-12-09T12:50:00Z", 20, &ms), 0); CHECK_EQ_INT(ms, 1323435000000LL);
  CHECK_EQ_INT(er_import_parse_iso8601("2000-02-29T12:00:00+02:00", 25, &ms), 0); CHECK_EQ_INT(ms, 951818400000LL);
  CHECK_EQ_INT(er_import_parse_iso8601("2000-02-29T12:00:00+0200", 24, &ms), 0); CHECK_EQ_INT(ms, 951818400000LL);
  CHECK_EQ_INT(er_import_parse_iso8601("2024-02-29T23:59:59.250", 23, &ms), 0); CHECK_EQ_INT(ms, 1709251199250LL);
  CHECK_EQ_INT(er_import_parse_iso8601("1970-01-01", 10, &ms), 0); CHECK_EQ_INT(ms, 0);
  CHECK_EQ_INT(er_import_parse_iso8601("2010-12-01 08:26", 16, &ms), 0); CHECK_EQ_INT(ms, 1291191960000LL);
  CHECK_EQ_INT(er_import_parse_iso8601("2106-02-07T06:28:15", 19, &ms), 0); CHECK_EQ_INT(ms, 4294967295000LL);
  CHECK_EQ_INT(er_import_parse_iso8601("2106-02-07T06:28:16", 19, &ms), -1); /* 2^32 s */
  CHECK_EQ_INT(er_import_parse_iso8601("1969-12-31T23:59:59", 19, &ms), -1);
  CHECK_EQ_INT(er_import_parse_iso8601("2023-02-29", 10, &ms), -1);
  CHECK_EQ_INT(er_import_parse_iso8601("2010-13-01", 10, &ms), -1);
  CHECK_EQ_INT(er_import_parse_iso8601("2010-12-01X08:26", 16, &ms), -1);
  CHECK_EQ_INT(er_import_parse_iso8601("2010-12-01 08:26:00 ", 20, &ms), -1);
  CHECK_EQ_INT(er_import_parse_iso8601("12/01/2010", 10, &ms), -1);
  CHECK_EQ_INT(er_import_parse_unix("1700000000.25", 13, &ms), 0); CHECK_EQ_INT(ms, 1700000000250LL);
  CHECK_EQ_INT(er_import_parse_unix("1659304800.1239", 15, &ms), 0); CHECK_EQ_INT(ms, 1659304800123LL);
  CHECK_EQ_INT(er_import_parse_unix("0", 1, &ms), 0); CHECK_EQ_INT(ms, 0);
  CHECK_EQ_INT(er_import_parse_unix("4294967296", 10, &ms), -1);
  CHECK_EQ_INT(er_import_parse_unix("-1", 2, &ms), -1);
  CHECK_EQ_INT(er_import_parse_unix("1e9", 3, &ms), -1);
  CHECK_EQ_INT(er_import_parse_unix("", 0, &ms), -1);
  CHECK_EQ_INT(er_import_parse_unix_ms("1659304800025", 13, &ms), 0); CHECK_EQ_INT(ms, 1659304800025LL);
  CHECK_EQ_INT(er_import_parse_unix_ms("4294967296000", 13, &ms), -1);
  CHECK_EQ_INT(er_import_parse_unix_ms("12a", 3, &ms), -1);
}

static void test_utf8(void) {
  CHECK(er_import_utf8_ok("caf\xc3\xa9", 5));
  CHECK(er_import_utf8_ok("\xf0\x9f\x98\x80", 4));
  CHECK(!er_import_utf8_ok("\xc3", 1));
  CHECK(!er_import_utf8_ok("\xc0\xaf", 2));          /* overlong */
  CHECK(!er_import_utf8_ok("\xed\xa0\x80", 3));      /* surrogate */
  CHECK(!er_import_utf8_ok("\xff", 1));
}

static void test_csv_quoting(void) {
  er_import_csv_opts o = opts();
  o.category = "c";
  /* BOM, CRLF, quoted separator, "" escape, embedded CRLF newline, quoted header */
  const char *in = "\xEF\xBB\xBF" "s,\"i\",t,c\r\n"
                   "s1,A,100,\"Bags, large\"\r\n"
                   "s1,\"B\"\"2\",101,\"two\r\nlines\"\r\n"
                   "\r\n"
                   "s2,C,102,plain\r\n";
  CHECK_EQ_INT(run(0, in, &o), 0);
  CHECK_EQ_INT(ST.rows, 3);
  CHECK_EQ_INT(ST.events, 3);
  CHECK_EQ_INT(ST.malformed, 0);
  CHECK_EQ_INT(lines_valid(), 3);
  CHECK_EQ_STR(line_at(0), "{\"type\":\"view\",\"item\":\"A\",\"ts\":100,\"session\":\"s1\",\"category\":\"Bags, large\",\"id\":\"csv-2\"}");
  CHECK_EQ_STR(line_at(1), "{\"type\":\"view\",\"item\":\"B\\\"2\",\"ts\":101,\"session\":\"s1\",\"category\":\"two\\r\\nlines\",\"id\":\"csv-3\"}");
  /* the record after an embedded newline starts on line 6 (line 5 is blank) */
  CHECK_EQ_STR(line_at(2), "{\"type\":\"view\",\"item\":\"C\",\"ts\":102,\"session\":\"s2\",\"category\":\"plain\",\"id\":\"csv-6\"}");
  /* no final newline, TSV */
  o = opts();
  o.sep = '\t';
  CHECK_EQ_INT(run(0, "s\ti\tt\nx\ty\t5", &o), 0);
  CHECK_EQ_INT(ST.events, 1);
  CHECK_EQ_STR(line_at(0), "{\"type\":\"view\",\"item\":\"y\",\"ts\":5,\"session\":\"x\",\"id\":\"csv-2\"}");
}

static void test_csv_typemap_price(void) {
  er_import_csv_opts o = opts();
  o.type = "ty"; o.type_map = "pv=view,buy=purchase,fav=cart"; o.price = "p"; o.user = "u";
  const char *in = "s,i,t,ty,p,u\n"
                   "s,A,1,pv,2.50,\n"
                   "s,B,2,buy,10,u1\n"
                   "s,C,3,fav,0.125,u1\n"
                   "s,D,4,click,,u1\n"     /* a contract name passes through */
                   "s,E,5,pay,1,u1\n";     /* unmapped */
  CHECK_EQ_INT(run(0, in, &o), 0);
  CHECK_EQ_INT(ST.events, 4);
  CHECK_EQ_INT(ST.malformed, 1);
  CHECK_EQ_INT(ST.bad_lines[0], 6);
  CHECK_EQ_STR(ST.bad_why[0], "unmapped type");
  CHECK_EQ_INT(lines_valid(), 4);
  CHECK_EQ_STR(line_at(0), "{\"type\":\"view\",\"item\":\"A\",\"ts\":1,\"session\":\"s\",\"price\":2.5,\"id\":\"csv-2\"}");
  CHECK_EQ_STR(line_at(1), "{\"type\":\"purchase\",\"item\":\"B\",\"ts\":2,\"session\":\"s\",\"user\":\"u1\",\"price\":10,\"id\":\"csv-3\"}");
  CHECK_EQ_STR(line_at(2), "{\"type\":\"cart\",\"item\":\"C\",\"ts\":3,\"session\":\"s\",\"user\":\"u1\",\"price\":0.125,\"id\":\"csv-4\"}");
  CHECK(strstr(line_at(3), "\"type\":\"click\"") != NULL);
  o.type_map = "pv=like";
  CHECK_EQ_INT(run(0, in, &o), 2);
  CHECK(strstr(ERR, "like") != NULL);
}

static void test_csv_session_gap(void) {
  er_import_csv_opts o = opts();
  o.session = NULL; o.user = "u"; o.ts_format = ER_TS_UNIX_MS; o.session_gap = 1800;
  const char *in = "u,i,t\n"
                   "a,1,1000000\n"
                   "b,2,1000500\n"
                   "a,3,2800000\n"   /* exactly 1800 s later: same session */
                   "a,4,4600001\n"   /* 1800.001 s later: new session */
                   "b,5,9000000\n"   /* new session for b */
                   ",6,9000001\n";   /* no user: malformed */
  CHECK_EQ_INT(run(0, in, &o), 0);
  CHECK_EQ_INT(ST.events, 5);
  CHECK_EQ_INT(ST.malformed, 1);
  CHECK_EQ_INT(lines_valid(), 5);
  CHECK(strstr(line_at(0), "\"session\":\"a-1\"") != NULL);
  CHECK(strstr(line_at(1), "\"session\":\"b-1\"") != NULL);
  CHECK(strstr(line_at(2), "\"session\":\"a-1\"") != NULL);
  CHECK(strstr(line_at(3), "\"session\":\"a-2\"") != NULL);
  CHECK(strstr(line_at(3), "\"ts\":4600.001") != NULL);
  CHECK(strstr(line_at(4), "\"session\":\"b-2\"") != NULL);
  /* neither session nor user */
  o.user = NULL;
  CHECK_EQ_INT(run(0, in, &o), 2);
}

static void test_csv_malformed(void) {
  er_import_csv_opts o = opts();
  o.ts_format = ER_TS_ISO8601;
  const char *in = "s,i,t\n"
                   "s,A,2010-12-01 08:26:00\n"       /* ok: 1291191960 */
                   "s,B\n"                           /* 2 fields */
                   "s,C,2010-12-01 08:26:00,extra\n" /* 4 fields */
                   "s,D,yesterday\n"                 /* bad ts */
                   "s,,2010-12-01 08:26:00\n"        /* empty item */
                   "s,\xff,2010-12-01 08:26:00\n"    /* invalid UTF-8 */
                   "s,G\"x,2010-12-01 08:26:00\n"    /* stray quote */
                   "s,\"H\"x,2010-12-01 08:26:00\n"  /* text after a closing quote */
                   ",I,2010-12-01 08:26:00\n"        /* empty session */
                   "s,J,2010-12-01T08:26:00.5\n"     /* ok */
                   "s,\"K,never closed\n";
  CHECK_EQ_INT(run(0, in, &o), 0);
  CHECK_EQ_INT(ST.rows, 11);
  CHECK_EQ_INT(ST.events, 2);
  CHECK_EQ_INT(ST.malformed, 9);
  CHECK_EQ_INT(ST.nbad, 9);
  static const uint64_t want[9] = {3, 4, 5, 6, 7, 8, 9, 10, 12};
  for (int k = 0; k < 9; k++) CHECK_EQ_INT(ST.bad_lines[k], want[k]);
  CHECK_EQ_INT(lines_valid(), 2);
  CHECK(strstr(line_at(0), "\"ts\":1291191960,") != NULL);
  CHECK(strstr(line_at(1), "\"ts\":1291191960.5,") != NULL);
  /* all rows malformed → exit 3; a missing column → exit 3 */
  CHECK_EQ_INT(run(0, "s,i,t\ns,A,x\n", &o), 3);
  CHECK_EQ_INT(run(0, "s,item,t\ns,A,1\n", &o), 3);
  CHECK(strstr(ERR, "'i'") != NULL);
  CHECK_EQ_INT(run(0, "", &o), 3);
}

/* --ts-format ymd with --order, column names with spaces and parentheses, fav=wishlist */
static void test_csv_ymd_order(void) {
  er_import_csv_opts o = opts();
  o.sep = ';'; o.session = "session ID"; o.item = "page 2 (clothing model)"; o.ts = "year,month,day";
  o.ts_format = ER_TS_YMD; o.order = "order(sells)"; o.type = "kind"; o.type_map = "pv=view,fav=wishlist";
  const char *in = "year;month;day;order(sells);session ID;page 2 (clothing model);kind\n"
                   "2008;4;1;1;7;A13;pv\n"    /* 2008-04-01 = 1207008000 */
                   "2008;4;1;2;7;B4;fav\n"
                   "2008;2;29;0;8;C1;pv\n"    /* leap day: 1204243200 */
                   "2007;2;29;1;8;C2;pv\n"    /* not a leap year */
                   "2008;13;1;1;8;C3;pv\n"    /* month */
                   "1969;12;31;1;8;C4;pv\n"   /* before 1970 */
                   "2008;4;31;1;8;C5;pv\n"    /* April has 30 days */
                   "2008;4;1;-1;8;C6;pv\n"    /* order < 0 */
                   "2008;4;1;x;8;C7;pv\n"     /* order not a number */
                   "2105;12;31;86399;9;D;pv\n"; /* 4291660800 + 86399 */
  CHECK_EQ_INT(run(0, in, &o), 0);
  CHECK_EQ_INT(ST.events, 4);
  CHECK_EQ_INT(ST.malformed, 6);
  CHECK_EQ_INT(lines_valid(), 4);
  CHECK_EQ_STR(line_at(0), "{\"type\":\"view\",\"item\":\"A13\",\"ts\":1207008001,\"session\":\"7\",\"id\":\"csv-2\"}");
  CHECK_EQ_STR(line_at(1), "{\"type\":\"wishlist\",\"item\":\"B4\",\"ts\":1207008002,\"session\":\"7\",\"id\":\"csv-3\"}");
  CHECK(strstr(line_at(2), "\"ts\":1204243200,") != NULL);
  CHECK(strstr(line_at(3), "\"ts\":4291747199,") != NULL);
  static const uint64_t want[6] = {5, 6, 7, 8, 9, 10};
  for (int k = 0; k < 6; k++) CHECK_EQ_INT(ST.bad_lines[k], want[k]);
  CHECK_EQ_STR(ST.bad_why[0], "column 'day': '29' is not a day of that month");
  CHECK_EQ_STR(ST.bad_why[1], "column 'month': '13' is not a month 1..12");
  CHECK_EQ_STR(ST.bad_why[2], "column 'year': '1969' is not a year 1970..2105");
  CHECK(strstr(ST.bad_why[4], "column 'order(sells)': '-1'") != NULL);
  CHECK(strstr(ST.bad_why[5], "'x'") != NULL);
  /* --ts must name three columns; a missing one is named */
  o.ts = "year,month";
  CHECK_EQ_INT(run(0, in, &o), 2);
  CHECK(strstr(ERR, "--ts") != NULL);
  o.ts = "year,month,day,hour";
  CHECK_EQ_INT(run(0, in, &o), 2);
  o.ts = "year,mon,day";
  CHECK_EQ_INT(run(0, in, &o), 3);
  CHECK(strstr(ERR, "'mon'") != NULL);
  /* wishlist is a contract type of its own; a typo is refused naming it */
  o.ts = "year,month,day"; o.type_map = "fav=wishlst";
  CHECK_EQ_INT(run(0, in, &o), 2);
  CHECK(strstr(ERR, "wishlst") != NULL);
  /* a bad unix ts names the column */
  er_import_csv_opts u = opts();
  CHECK_EQ_INT(run(0, "s,i,t\ns,A,1\ns,B,soon\n", &u), 0);
  CHECK_EQ_STR(ST.bad_why[0], "column 't': bad ts (--ts-format unix)");
}

static void test_online_retail(void) {
  const char *in = "\"InvoiceNo\",\"StockCode\",\"Description\",\"Quantity\",\"InvoiceDate\",\"UnitPrice\",\"CustomerID\",\"Country\"\n"
                   "\"536365\",\"85123A\",\"WHITE HANGING HEART T-LIGHT HOLDER\",6,\"2010-12-01T08:26:00\",2.55,17850,\"United Kingdom\"\n"
                   "\"C536379\",\"D\",\"Discount\",-1,\"2010-12-01T09:41:00\",27.5,14527,\"United Kingdom\"\n"
                   "\"536414\",\"\",\"no code\",56,\"2010-12-01T11:52:00\",0,NA,\"United Kingdom\"\n"
                   "\"536414\",\"22139\",\"say \"\"hi\"\"\",56,\"2010-12-01 11:52:00\",0,NA,\"United Kingdom\"\n"
                   "\"A563186\",\"B\",\"Adjust bad debt\",1,\"2011-08-12T14:51:00\",-11062.06,,\"United Kingdom\"\n"
                   "\"536365\",\"71053\",\"x\",six,\"2010-12-01T08:26:00\",3.39,17850,\"United Kingdom\"\n";
  CHECK_EQ_INT(run(1, in, NULL), 0);
  CHECK_EQ_INT(ST.rows, 6);
  CHECK_EQ_INT(ST.events, 2);
  CHECK_EQ_INT(ST.dropped_cancel, 1);
  CHECK_EQ_INT(ST.dropped_nostock, 1);
  CHECK_EQ_INT(ST.malformed, 2);
  CHECK_EQ_INT(ST.bad_lines[0], 6);
  CHECK_EQ_INT(ST.bad_lines[1], 7);
  CHECK_EQ_INT(lines_valid(), 2);
  CHECK_EQ_STR(line_at(0), "{\"type\":\"purchase\",\"item\":\"85123A\",\"ts\":1291191960,\"session\":\"536365\",\"user\":\"17850\","
                           "\"price\":2.55,\"qty\":6,\"country\":\"United Kingdom\",\"id\":\"or-2\"}");
  CHECK_EQ_STR(line_at(1), "{\"type\":\"purchase\",\"item\":\"22139\",\"ts\":1291204320,\"session\":\"536414\","
                           "\"price\":0,\"qty\":56,\"country\":\"United Kingdom\",\"id\":\"or-5\"}");
  CHECK_EQ_INT(run(1, "a,b,c\n1,2,3\n", NULL), 3);
}

static void test_otto(void) {
  const char *in = "{\"session\":7,\"events\":[{\"aid\":11,\"ts\":1659304800123,\"type\":\"clicks\"},"
                   "{\"aid\":12,\"ts\":1659304801000,\"type\":\"carts\"},{\"aid\":12,\"ts\":1659304802500,\"type\":\"orders\"}]}\n"
                   "{\"session\":8,\"events\":[{\"aid\":1,\"ts\":1,\"type\":\"likes\"}]}\n"
                   "\n"
                   "{\"session\":9,\"events\":[\n"
                   "{\"session\":10,\"events\":[{\"aid\":5,\"ts\":1659304800000,\"type\":\"clicks\"}]}\r\n";
  CHECK_EQ_INT(run(2, in, NULL), 0);
  CHECK_EQ_INT(ST.rows, 4);
  CHECK_EQ_INT(ST.events, 4);
  CHECK_EQ_INT(ST.malformed, 2);
  CHECK_EQ_INT(ST.bad_lines[0], 2);
  CHECK_EQ_INT(ST.bad_lines[1], 4);
  CHECK_EQ_INT(lines_valid(), 4);
  CHECK_EQ_STR(line_at(0), "{\"type\":\"view\",\"item\":\"11\",\"ts\":1659304800.123,\"session\":\"7\",\"id\":\"otto-7-0\"}");
  CHECK_EQ_STR(line_at(1), "{\"type\":\"cart\",\"item\":\"12\",\"ts\":1659304801,\"session\":\"7\",\"id\":\"otto-7-1\"}");
  CHECK_EQ_STR(line_at(2), "{\"type\":\"purchase\",\"item\":\"12\",\"ts\":1659304802.5,\"session\":\"7\",\"id\":\"otto-7-2\"}");
  CHECK_EQ_STR(line_at(3), "{\"type\":\"view\",\"item\":\"5\",\"ts\":1659304800,\"session\":\"10\",\"id\":\"otto-10-0\"}");
}

int main(void) {
  RUN(test_timestamps);
  RUN(test_utf8);
  RUN(test_csv_quoting);
  RUN(test_csv_typemap_price);
  RUN(test_csv_session_gap);
  RUN(test_csv_malformed);
  RUN(test_csv_ymd_order);
  RUN(test_online_retail);
  RUN(test_otto);
  return DONE();
}
