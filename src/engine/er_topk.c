/* er_topk.c — bounded heap selection. */
#include "er_topk.h"

/* a ranks before b */
static inline int better(er_scored a, er_scored b) { return a.score > b.score || (a.score == b.score && a.pos < b.pos); }

/* min-heap on "better": the root is the worst kept entry */
static void sift_down(er_scored *h, uint32_t n, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && better(h[w], h[l])) w = l;
    if (r < n && better(h[w], h[r])) w = r;
    if (w == i) return;
    er_scored t = h[i]; h[i] = h[w]; h[w] = t;
    i = w;
  }
}

uint32_t er_topk(const er_scored *in, uint32_t n, uint32_t k, er_scored *heap, er_scored *out) {
  if (k > n) k = n;
  if (!k) return 0;
  for (uint32_t i = 0; i < k; i++) heap[i] = in[i];
  for (uint32_t i = k / 2; i-- > 0;) sift_down(heap, k, i);
  for (uint32_t i = k; i < n; i++) {
    if (better(in[i], heap[0])) { heap[0] = in[i]; sift_down(heap, k, 0); }
  }
  /* pop worst-first into the back of out */
  uint32_t m = k;
  while (m) {
    out[m - 1] = heap[0];
    heap[0] = heap[m - 1];
    m--;
    sift_down(heap, m, 0);
  }
  return k;
}
