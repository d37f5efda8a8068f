/* er_train.h — the native trainer: event log → catalog tables → ranker →
 * int8 bundle.  Built from the same C as the engine: training pairs are the
 * engine's own candidates (er_engine_candidates) with the engine's own
 * features (er_features_sparse / er_features_dense), so serving can never
 * disagree with training.  Native only (malloc, stdio).
 *
 *   edgerec train --events FILE|- [--catalog FILE] [--until TS] [--model linear|trees]
 *                 [--bits B] [--seed N] [--version V] --out BUNDLE.erb
 *   edgerec features --events FILE|- [--catalog FILE] [--until TS] [--seed N]
 *                 [--format libsvm] [--part train|valid|all] [--bits B --sparse]
 *
 * What it builds and how (windows, leakage rule, losses, quantization):
 * docs/training.md. */
#ifndef ER_TRAIN_H
#define ER_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "er_base.h"
#include "er_log.h"
#include "er_pack.h"

typedef enum { ER_TRAIN_LINEAR = 1, ER_TRAIN_TREES = 2 } er_train_model;

typedef struct {
  er_train_model model;      /* default trees                                   */
  uint32_t bits;             /* linear hash bits, 10..24, default 18            */
  uint64_t seed;             /* default 1                                       */
  uint64_t until_ms;         /* train on sessions ending before this; 0 = all   */
  const char *version;       /* bundle version, default "trained-<model>-<seed>" */
  uint32_t max_groups;       /* training requests kept, default per model        */
  uint32_t max_valid;        /* validation requests kept in memory (a uniform sample beyond,
                                drawn apart from training's): default 50,000; 0 keeps all */
  uint32_t negatives;        /* sampled negatives per request, default 10        */
  uint32_t epochs;           /* linear passes, default 3                         */
  uint32_t trees, depth;     /* trees: default 32, 5 (limits 128, 6)             */
  double table_fraction;     /* training sessions that build the feature tables
                                for the ranker's pairs, default 0.75 (rest: pairs) */
  int verbose;               /* progress on stderr                               */
} er_train_opts;

/* Defaults for every option. */
void er_train_defaults(er_train_opts *o);

/* What a training run measured (also printed as JSON by `edgerec train`). */
typedef struct {
  uint32_t train_sessions, table_sessions, pair_sessions, items;
  uint64_t groups, rows, valid_groups;
  uint64_t impression_groups;      /* of groups: logged impressions with clicks */
  uint64_t flagged_events;         /* training sessions' events with a `flag`: not learned from */
  uint64_t new_id_events;          /* ... with `trust: "new"`: NEW_ID_WEIGHT in the tables */
  int prior;                       /* too few requests: a fixed prior ranker was packed */
  double auc_float, auc_int8;      /* pairwise AUC on the validation requests   */
  double top10_agreement;          /* int8 vs float top-10 overlap, full candidate lists */
  uint32_t agreement_requests;
  double quant_clip;               /* linear: weights clipped at this fraction of max|w| */
  double seconds_read, seconds_tables, seconds_pairs, seconds_fit, seconds_total;
  uint64_t peak_rss_kib;
  uint32_t bundle_bytes;
} er_train_report;

/* Train on a finished log (er_log_finish) with an optional catalog (NULL:
 * items, prices and categories come from the events).  *out (malloc'd) holds
 * the bundle.  Errors name what is wrong (no training session, no pairs, …). */
er_status er_train_run(const er_log *L, const char *catalog_json, uint32_t catalog_len, const er_train_opts *o,
                       uint8_t **out, uint32_t *out_len, er_train_report *rep, er_error *err);

/* `edgerec train …` and `edgerec features …` (argv[0] is the command name).
 * Return the CLI exit code: 0 ok, 2 usage, 3 bad input. */
int er_train_main(int argc, char **argv);
int er_features_main(int argc, char **argv);

#endif
