/* er_eval.h — offline evaluation (`edgerec eval`): edgerec's serving path
 * against the session-based recommendation literature's baselines, on an
 * event log (er_log.h), with the next-item protocol of session-rec /
 * GRU4Rec.  Native only (malloc).  Deterministic: the same log, options and
 * bundle give the same numbers (only the timings differ).
 *
 * Protocol (ER_EVAL_PROTOCOL says it in one line, the JSON carries it):
 *  - Only item events make sequences: view, click, cart, purchase, and
 *    wishlist, recs-item-click and recs-item-add-to-cart-click (a click on a
 *    recommendation unit's item or its button is a click).  Shown lists
 *    (impression, recs-unit-impression-render, recs-unit-view: a unit seen is
 *    no listing impression and no item event), feedback and every event the
 *    edge flagged (`flag`: a bot, rate-limited) are ignored.  A session
 *    takes part when it has at least one item event; events keep er_log's
 *    order (time, then input order).
 *  - Split: a session is a test session when its last event
 *    (er_log_session.end_ms, any type) is at or after `from`, else a
 *    training session.
 *  - Test events whose item never occurs in a training session are dropped;
 *    then test sessions with fewer than 2 remaining events are dropped.
 *  - For every kept test session e_0..e_{n-1} and every i in 0..n-2, each
 *    model predicts the item of e_{i+1} from e_0..e_i.  The rank of the true
 *    item in the model's ranking of the whole catalogue (1 = first) gives
 *    HR@K (rank <= K), MRR@K (1/rank when rank <= K) and NDCG@K
 *    (1/log2(rank+1) when rank <= K); ranks past ER_EVAL_MAX_RANK, or items a
 *    model does not return (edgerec returns max(k, 20) items), are misses.
 *  - The peers are trained here, on the training sessions only; they may
 *    recommend items already in the session (as in session-rec); every tie
 *    is broken by item id (er_log's interned id: first appearance in the
 *    log), smaller first.  The catalogue is the set of items of the
 *    training sessions; "then POP" ranks the items not scored by the model
 *    after the scored ones, in POP order.
 *      pop    items by number of item events in training.
 *      spop   the session's items e_0..e_i by count in the session (ties:
 *             most recent occurrence first), then POP.
 *      ar     association rules (session-rec's AR, no pruning): every pair
 *             of distinct positions p != q of a training session adds 1 to
 *             rule item[p] -> item[q]; rank by the rule weight from the last
 *             item e_i, then POP.
 *      sr     sequential rules (session-rec's SR, steps 10, weighting 1/gap,
 *             no pruning): each position q and earlier position p with
 *             q - p <= 10 adds 1/(q - p) to rule item[p] -> item[q] (kept
 *             exactly as multiples of 1/2520); rank by the rule weight from
 *             e_i, then POP.
 *      vsknn  V-SKNN (Ludewig & Jannach 2018): session-rec's VMContextKNN
 *             (algorithms/knn/vsknn.py) with k = 100, sample_size = 1000,
 *             sampling 'recent', weighting 'div', weighting_score 'div',
 *             idf_weighting 1, remind True, no dwelling time / time
 *             weighting / extend, and what its similarity code does: the
 *             'vec' dot product whatever `similarity` says.
 *             Weights: e_0..e_i as a list, the event at position x weighs
 *             (x+1)/(i+1), an item its last occurrence's weight.
 *             Candidates: the 1000 most recent training sessions (by end
 *             time; ties: er_log order) sharing an item with e_0..e_i.
 *             Similarity of a candidate n: the sum of the weights of the
 *             items it shares (n as an item set), divided by the number of
 *             distinct items of e_0..e_i.  Neighbours: the 100 most similar
 *             (ties: the more recent).  Score of item j: the sum over the
 *             neighbours n containing j of sim(n) / step(n) (weighting_score
 *             'div'; step(n) = i - x + 1 for the last position x of
 *             e_0..e_i whose item is in n: 1 when n holds e_i), times
 *             1 + ln(N / pop(j)) (idf_weighting 1; N training sessions,
 *             pop(j) j's item events in training, as session-rec's
 *             groupby(item).size()).  Ranking: the items with a positive
 *             score by score, then the rest of the catalogue in POP order,
 *             then the items with a negative score (pop(j) > e * N) by
 *             score.  Similarities are exact integers (scaled by the
 *             number of distinct items times i+1, which changes no
 *             ranking), scores doubles summed in a fixed order
 *             (neighbours best first): deterministic.
 *      stan   STAN (Garg et al., SIGIR 2019): session-rec's STAN
 *             (algorithms/knn/stan.py), remind True, no extend, with
 *             parameters k, sample_size, lambda_spw (λ1), lambda_snh (λ2, in
 *             days) and lambda_inh (λ3) -- tuned (below) or the published
 *             defaults (ER_EVAL_STAN_*: k 100, sample_size 5000, λ1 1.02,
 *             λ2 5 days, λ3 2.05).  Weights: e_0..e_i as a list of length
 *             n = i+1, item j weighs w(j) = exp((x+1 - n) / λ1) for its last
 *             position x.  Candidates: the sample_size most recent training
 *             sessions (by end time; ties: er_log order) sharing an item
 *             with e_0..e_i.  Similarity of a candidate c with the distinct
 *             item set D(c): (sum of w(j) over j in D(c) ∩ items(e_0..e_i),
 *             in c's first-occurrence order) / (sqrt(sum of w(j)^2 over the
 *             distinct items of e_0..e_i, in first-occurrence order) *
 *             sqrt(|D(c)|)) * exp(-(ts(e_i) - end(c)) / λ2) (ts in ms, λ2 in
 *             ms; end(c): er_log_session.end_ms).  Neighbours: the k most
 *             similar (ties: the more recent).  Score of item j: the sum
 *             over the neighbours c containing j (best first) of sim(c) *
 *             exp(-|p(j) - p*| / λ3), p(j) j's last 1-based position in c's
 *             sequence, p* the last position in c of an item of e_0..e_i.
 *             Ranking as vsknn (positive scores, then POP).
 *      vstan  VSTAN (Ludewig, Latifi, Mauro & Jannach 2021): session-rec's
 *             VSKNN_STAN (algorithms/knn/vstan.py; its similarity is the
 *             cosine above whatever `similarity` says): STAN's neighbours,
 *             and each neighbour's term for j becomes t = sim(c) *
 *             exp(-|p(j) - p*| / λ3); t = t + t * ln(N / pop(j)) *
 *             lambda_idf; t = t * exp((q+1 - n) / lambda_ipw), q the last
 *             position x of e_0..e_i whose item is in c (N training
 *             sessions, pop(j) j's item events).  Defaults ER_EVAL_VSTAN_*
 *             (session-rec's: λ_ipw 1.02, λ_idf 5; the rest as STAN's).
 *             Negative scores (pop(j) > N * e^(-1/λ_idf)) rank last, as in
 *             vsknn.
 *  - Tuning (stan, vstan; opts.tune = 1, the default): the training
 *    sessions (by end time) are split again: the last tenth of them
 *    (count; the cut is that session's end time, so ties stay together) is
 *    a validation set under the same protocol (items unseen in the rest
 *    dropped, sessions < 2 events dropped), the rest the fit set.  Every
 *    configuration of a small grid (er_eval.c: STAN_GRID, VSTAN_GRID;
 *    λ1, λ3 as multiples of the fit set's mean session length L, as in
 *    the STAN paper) is fitted on the fit set and scored on the validation
 *    set; the best MRR@20 (ties: HR@20, then grid order) is refitted on
 *    all training sessions and evaluated on the test sessions.  The test
 *    sessions are never read while tuning.  When the validation set is
 *    empty the defaults are used (params.tuned false).  The search is
 *    coordinate-wise (each parameter over its values, the others at their
 *    best so far, in the order λ1, λ2, λ3, λ_ipw, λ_idf, k), from the
 *    published defaults with sample_size 1000 (kept: 5000 costs five times
 *    as much); the validation set is capped at its most recent sessions
 *    totalling 5000 predictions.  VSTAN, when STAN was tuned in the same
 *    run, starts from STAN's k, λ1, λ2, λ3 and searches λ_ipw, λ_idf, k.
 *  - Lists (every model): the top 20 of each prediction, from the same
 *    ranking.  coverage@20 = distinct catalogue items in any top-20 list /
 *    catalogue items (session-rec's Coverage); pop_bias@20 = the mean over
 *    predictions of the mean of pop(j) / max pop over the list's items
 *    (session-rec's Popularity@20; an empty list counts 0; edgerec's items
 *    outside the training catalogue count 0).
 *  - Intervals: per-session bootstrap: 1000 resamples of the test sessions
 *    with replacement (splitmix64, seed ER_EVAL_BOOT_SEED, the same sessions
 *    for every model: paired), each giving HR@20 = hits / predictions and
 *    MRR@20 = sum of 1/rank / predictions over the resampled sessions; the
 *    interval is the 26th and 975th of the 1000 sorted values (25 below,
 *    25 above).
 *  - edgerec: per test session the profile starts as the edge's would: the
 *    shopper's earlier sessions (er_log_apply_history: the same user's
 *    sessions that ended before this one started, training or test, every
 *    event as logged; none without a user, or with opts.session_only), then
 *    before predicting e_{i+1}, e_i is applied (er_log_delta,
 *    er_engine_enrich_delta, er_profile_apply) — so beyond the history the
 *    profile holds exactly e_0..e_i of the filtered sequence, what the peers
 *    see (the peers are session-based: they see a shopper's earlier sessions
 *    only as training sessions) — then the profile is encoded and er_recommend (the serving path, unit
 *    recommended-for-you) is called with er_log_context_json(e_i, max(k,
 *    20)).  The true item counts as found at the position of its sku, or of
 *    its parent's sku (a configurable's child folds into its parent).
 *    Engine errors are counted (and are misses); so are work-budget
 *    fallbacks (their items still count).  edgerec's serving rules apply:
 *    it never recommends items the profile has disliked, nor purchases but
 *    of items bought again by >= 10 % of their buyers, bought >= 24 h ago. */
#ifndef ER_EVAL_H
#define ER_EVAL_H

#include <stdint.h>

#include "edgerec.h"
#include "er_log.h"

#define ER_EVAL_PROTOCOL                                                                                                \
  "next-item (session-rec/GRU4Rec): item events (view/click/cart/purchase/wishlist/recs-item-click/"               \
  "recs-item-add-to-cart-click, not flagged) only; session is test when its last "                                     \
  "event >= from; test events with items unseen in training dropped, then test sessions < 2 events; each prefix "    \
  "e0..ei predicts e(i+1), rank over the whole catalogue (not returned = miss); peers trained on training sessions " \
  "only, may repeat session items, ties by item id, filled with POP; ar: all position pairs, sr: steps 10 weight "   \
  "1/gap, vsknn: session-rec VMContextKNN k 100, sample_size 1000 (recent), weighting div, weighting_score div, "   \
  "idf_weighting 1, remind, vec dot product; stan/vstan: session-rec STAN / VSKNN_STAN (cosine with position "      \
  "weights exp((pos-n)/l_spw), time decay exp(-(ts(ei)-end)/l_snh), item decay exp(-|p-p*|/l_inh); vstan also "     \
  "1+l_idf*ln(N/pop), exp((q-n)/l_ipw)), recent sample, ties by recency then item id, tuned on the last tenth of "   \
  "training sessions (MRR@20) unless --tune-peers none; coverage@20, popularity@20 (pop/max), per-session "          \
  "bootstrap 95% intervals (1000, fixed seed); edgerec: er_recommend with a profile of the shopper's earlier "      \
  "sessions (same user, unless --history session) and e0..ei, and the context of ei"

#define ER_EVAL_MAX_RANK 200u        /* ranks kept in the histogram (= ER_MAX_K) */
#define ER_EVAL_DEFAULT_K 20u
#define ER_EVAL_DEFAULT_TEST_DAYS 30u
#define ER_EVAL_SR_STEPS 10u
#define ER_EVAL_SR_UNIT 2520u        /* lcm(1..10): SR weights are multiples of 1/2520 */
#define ER_EVAL_KNN_K 100u          /* V-SKNN neighbours                                    */
#define ER_EVAL_KNN_SAMPLE 1000u    /* V-SKNN candidates: most recent sessions sharing an item */
#define ER_EVAL_KNN_IDF 1.0         /* V-SKNN idf_weighting                                 */
#define ER_EVAL_STAN_K 100u         /* STAN / VSTAN published defaults (session-rec's)       */
#define ER_EVAL_STAN_SAMPLE 5000u
#define ER_EVAL_STAN_SPW 1.02        /* λ1, positions                                         */
#define ER_EVAL_STAN_SNH 5.0         /* λ2, days                                              */
#define ER_EVAL_STAN_INH 2.05        /* λ3, positions                                         */
#define ER_EVAL_VSTAN_IPW 1.02
#define ER_EVAL_VSTAN_IDF 5.0
#define ER_EVAL_TOP 20u              /* list length for coverage@20 and pop_bias@20           */
#define ER_EVAL_BOOT 1000u           /* bootstrap resamples                                   */
#define ER_EVAL_BOOT_SEED 0x5eed2019ull

/* The models, in output order. */
typedef enum {
  ER_EVAL_EDGEREC = 0,
  ER_EVAL_POP,
  ER_EVAL_SPOP,
  ER_EVAL_AR,
  ER_EVAL_SR,
  ER_EVAL_VSKNN,
  ER_EVAL_STAN,
  ER_EVAL_VSTAN,
  ER_EVAL_N_MODELS
} er_eval_model;
#define ER_EVAL_BIT(m) (1u << (m))
#define ER_EVAL_PEERS (ER_EVAL_BIT(ER_EVAL_POP) | ER_EVAL_BIT(ER_EVAL_SPOP) | ER_EVAL_BIT(ER_EVAL_AR) | \
                       ER_EVAL_BIT(ER_EVAL_SR) | ER_EVAL_BIT(ER_EVAL_VSKNN) | ER_EVAL_BIT(ER_EVAL_STAN) |  \
                       ER_EVAL_BIT(ER_EVAL_VSTAN))

/* "edgerec", "pop", "spop", "ar", "sr", "vsknn", "stan", "vstan"; NULL when
 * out of range. */
const char *er_eval_model_name(er_eval_model m);
/* Parse a --baseline list ("pop,sr", "all", "none"; names as above, without
 * "edgerec") into a bitmask of ER_EVAL_BIT(model).  ER_E_USAGE naming the
 * bad entry. */
er_status er_eval_parse_models(const char *list, uint32_t *mask, er_error *err);

/* ---- metrics ----------------------------------------------------------------- */

/* Ranks seen so far: a histogram, so every metric is exact and independent
 * of the order predictions were made in. */
typedef struct {
  uint64_t n;                              /* predictions                        */
  uint64_t at_rank[ER_EVAL_MAX_RANK + 1];  /* [r]: true item ranked r (1-based)  */
} er_eval_metrics;

void er_eval_metrics_init(er_eval_metrics *m);
/* One prediction: rank is 1-based; 0 (not found) or > ER_EVAL_MAX_RANK is a
 * miss. */
void er_eval_metrics_add(er_eval_metrics *m, uint32_t rank);
/* Metrics at cutoff K (1..ER_EVAL_MAX_RANK; larger is clamped); 0 when there
 * is no prediction.  HR@K = share with rank <= K; MRR@K = mean of 1/rank
 * (0 past K); NDCG@K = mean of 1/log2(rank + 1) (0 past K). */
double er_eval_hr(const er_eval_metrics *m, uint32_t k);
double er_eval_mrr(const er_eval_metrics *m, uint32_t k);
double er_eval_ndcg(const er_eval_metrics *m, uint32_t k);

/* ---- the split ----------------------------------------------------------------- */

/* The training and (filtered) test sequences of a log at a split.  Built by
 * er_eval_split_build, released by er_eval_split_free.  Item ids are er_log
 * item ids; event ids index L->ev. */
typedef struct {
  uint64_t from_ms;            /* test: sessions with end_ms >= from_ms            */
  uint32_t n_items;            /* L->items.n                                        */
  /* training: sessions in er_log order (ascending end time = recency)  */
  uint32_t n_train;
  uint32_t *train_session;     /* [n_train] index into L->ses                     */
  uint32_t *train_first;       /* [n_train + 1] offsets into train_item          */
  uint32_t *train_item;        /* item ids of the item events, in order           */
  uint32_t *pop;               /* [n_items] item events in training (0: unknown)  */
  /* test: the kept sessions, filtered */
  uint32_t n_test;
  uint32_t *test_session;      /* [n_test] index into L->ses                      */
  uint32_t *test_first;        /* [n_test + 1] offsets into test_event           */
  uint32_t *test_event;        /* indices into L->ev of the kept events           */
  uint32_t test_sessions_total;   /* test sessions with an item event, before dropping */
  uint32_t test_sessions_dropped; /* of those, fewer than 2 kept events           */
  uint64_t test_events_dropped;   /* test item events of items unseen in training */
  uint64_t predictions;           /* sum over kept test sessions of (n - 1)       */
} er_eval_split;

/* Build the split of a finished log (er_log_finish) at from_ms.  Errors:
 * ER_E_SHAPE when the log has no item event, no training session or no test
 * session left after dropping (the message says which and the counts),
 * ER_E_USAGE when the log was not finished, ER_E_NOMEM. */
er_status er_eval_split_build(const er_log *L, uint64_t from_ms, er_eval_split *s, er_error *err);
void er_eval_split_free(er_eval_split *s);

/* ---- running ------------------------------------------------------------------- */

/* Called once per prediction when set: model, test session (index into the
 * split's test arrays), position i (e_0..e_i predict e_{i+1}), the true
 * item, and its rank (0: miss).  Order: by session and position for spop,
 * vsknn, stan, vstan, edgerec and pop; grouped by the last item for ar and
 * sr.  Not called while stan / vstan tune (validation predictions). */
typedef void (*er_eval_trace_fn)(void *user, er_eval_model m, uint32_t test, uint32_t pos, uint32_t item, uint32_t rank);

/* STAN / VSTAN parameters (ipw and idf: VSTAN only, 0 for STAN). */
typedef struct {
  uint32_t k, sample;
  double spw, snh_days, inh;   /* λ1 (positions), λ2 (days), λ3 (positions)        */
  double ipw, idf;
} er_eval_knn_params;

/* The published defaults of STAN (vstan 0) or VSTAN (vstan 1). */
er_eval_knn_params er_eval_knn_defaults(int vstan);

typedef struct {
  int has_from;                /* 1: split at from_ms; 0: test_days before the log's last event */
  uint64_t from_ms;
  uint32_t test_days;          /* 1..36500 (default 30)                            */
  uint32_t k;                  /* list length asked of the models, 1..200 (20)    */
  uint32_t models;             /* ER_EVAL_BIT mask; edgerec needs an engine        */
  int progress;                /* per-model lines on stderr                        */
  int tune;                    /* stan, vstan: 1 grid on a validation split (default), 0 defaults */
  int session_only;            /* edgerec: 1 the profile holds the session's events only (--history session) */
  uint32_t threads;            /* edgerec: worker threads, each with its own engine (0: the CPUs the
                                  process may use, at most 8); the figures do not depend on it */
  const er_eval_knn_params *stan, *vstan; /* fixed parameters (tests); NULL: tune or defaults */
  er_eval_trace_fn trace;      /* optional                                         */
  void *trace_user;
} er_eval_opts;

/* Defaults: test_days 30, k 20, all peers, tuning on, no progress, no trace. */
void er_eval_opts_default(er_eval_opts *o);

typedef struct {
  int ran;                     /* evaluated                                        */
  double coverage, pop_bias;   /* coverage@20, pop_bias@20 (see the protocol)      */
  double hr_ci[2], mrr_ci[2];  /* bootstrap 95 % intervals of HR@20 and MRR@20     */
  /* stan, vstan */
  er_eval_knn_params params;   /* the parameters evaluated on the test sessions    */
  int tuned;                   /* 1: chosen on the validation split                */
  uint32_t configs;            /* grid size tried                                  */
  double valid_hr, valid_mrr;  /* the chosen configuration's HR@20, MRR@20 on validation */
  uint64_t valid_predictions;
  double tune_seconds;         /* of the tuning (included in seconds)            */
  er_eval_metrics m;
  double seconds;              /* wall time of training + predictions            */
  uint64_t errors;             /* edgerec: er_recommend / context failures        */
  uint64_t fallbacks;          /* edgerec: answers with "fallback":"work-budget"  */
} er_eval_model_result;

typedef struct {
  uint64_t from_ms;
  uint32_t train_sessions, test_sessions, test_sessions_dropped;
  uint64_t test_events_dropped, predictions;
  uint32_t k;
  char model_version[32];      /* the bundle's version when edgerec ran, else ""  */
  er_eval_model_result model[ER_EVAL_N_MODELS];
} er_eval_result;

/* One model over a split: the peers train on s and predict; edgerec needs
 * `engine` (else ER_E_USAGE).  Fills *r (metrics, seconds, errors). */
er_status er_eval_model_run(const er_log *L, const er_eval_split *s, er_eval_model m, const er_eval_opts *o,
                            er_engine *engine, er_eval_model_result *r, er_error *err);

/* The whole evaluation: the split (from o), then every model of o->models
 * (edgerec when its bit is set and engine is not NULL; the bit without an
 * engine is ER_E_USAGE).  For `edgerec eval`, the trainer and the retrain
 * gate.  Errors as er_eval_split_build's, plus ER_E_USAGE for bad options. */
er_status er_eval_run(const er_log *L, const er_eval_opts *o, er_engine *engine_or_NULL, er_eval_result *r,
                      er_error *err);

/* The result as one JSON object (the `edgerec eval` output, no newline):
 * {"protocol":…,"split":{"from":S,"train_sessions":N,"test_sessions":N,
 * "test_sessions_dropped":N,"test_events_dropped":N,"predictions":N},"k":K,
 * "models":{"edgerec":{"model":"…","hr@10":…,"hr@20":…,"mrr@20":…,
 * "ndcg@10":…,["hr@K","mrr@K","ndcg@K" when K is not 10 or 20,]
 * "predictions":N,"errors":N,"fallbacks":N,"coverage@20":…,"pop_bias@20":…,
 * "hr@20_ci":[lo,hi],"mrr@20_ci":[lo,hi],"seconds":…},"pop":{…},…,
 * "stan":{…,"params":{"k":N,"sample":N,"lambda_spw":…,"lambda_snh_days":…,
 * "lambda_inh":…[,"lambda_ipw":…,"lambda_idf":… for vstan],"tuned":B,
 * "configs":N[,"validation":{"predictions":N,"hr@20":…,"mrr@20":…}]}}}} with
 * metrics to 4 decimals, seconds to 3, `from` in unix seconds (3 decimals
 * only when not whole).  Returns the length written to out (NUL-terminated),
 * 0 when cap is too small (16 KB is always enough). */
uint32_t er_eval_json(const er_eval_result *r, char *out, uint32_t cap);

/* `edgerec eval --bundle B --events F [--from TS | --test-days N] [--k N]
 * [--baseline LIST] [--tune-peers grid|none]`; argv[0] is "eval".  The JSON
 * on stdout, progress and a table of every model (the best per column
 * flagged `*`) on stderr.  Without --bundle the baselines run (default all); with it edgerec
 * and the baselines (default all; `--baseline none`: edgerec only).
 * Returns 0 ok, 2 usage, 3 bad input (unreadable events, nothing to
 * evaluate), 4 bad bundle. */
int er_eval_main(int argc, char **argv);

#endif
