/* er_topk.h — top-K selection of scored candidates without qsort: a bounded
 * binary heap with an inlined comparator.  Order: score descending, then
 * input position ascending (ties keep input order). */
#ifndef ER_TOPK_H
#define ER_TOPK_H

#include "er_base.h"

typedef struct {
  int32_t score;
  uint32_t pos;   /* input position (tie-break) */
} er_scored;

/* Select the best k of in[0..n) into out[0..k') in rank order; returns k'
 * = min(k, n).  `heap` is scratch for k entries.  O(n log k). */
uint32_t er_topk(const er_scored *in, uint32_t n, uint32_t k, er_scored *heap, er_scored *out);

#endif
