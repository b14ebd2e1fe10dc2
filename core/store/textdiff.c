/* textdiff.c - longest-common-subsequence line diff rendered as unified hunks. */
#include "textdiff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define CONTEXT 3
/* Cells of the LCS table beyond which a change is shown as a whole replacement. */
#define MAX_CELLS (4u * 1024 * 1024)

typedef struct line {
    const char *s;
    size_t n; /* without the newline */
} line;

static line *split(const char *t, size_t *count)
{
    size_t cap = 16, k = 0;
    line *v = sw_xmalloc(cap * sizeof *v);
    while (*t) {
        const char *nl = strchr(t, '\n');
        size_t n = nl ? (size_t)(nl - t) : strlen(t);
        if (k == cap) {
            cap *= 2;
            v = sw_xrealloc(v, cap * sizeof *v);
        }
        v[k++] = (line){t, n};
        t += n + (nl ? 1 : 0);
    }
    *count = k;
    return v;
}

static int eq(line a, line b)
{
    return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}

typedef struct op {
    char kind; /* ' ', '-', '+' */
    size_t ai, bi;
} op;

/* The edit script between a[0..n) and b[0..m), appended to ops. */
static size_t script(const line *a, size_t n, const line *b, size_t m, op *ops)
{
    size_t k = 0, pre = 0, suf = 0;
    while (pre < n && pre < m && eq(a[pre], b[pre]))
        pre++;
    while (suf < n - pre && suf < m - pre && eq(a[n - 1 - suf], b[m - 1 - suf]))
        suf++;
    for (size_t i = 0; i < pre; i++)
        ops[k++] = (op){' ', i, i};
    size_t an = n - pre - suf, bn = m - pre - suf;
    const line *ma = a + pre, *mb = b + pre;
    if (an && bn && (uint64_t)(an + 1) * (bn + 1) <= MAX_CELLS) {
        /* L[i][j] = LCS length of ma[i..] and mb[j..]. */
        uint32_t *L = sw_xcalloc((an + 1) * (bn + 1), sizeof *L);
#define CELL(i, j) L[(i) * (bn + 1) + (j)]
        for (size_t i = an; i-- > 0;)
            for (size_t j = bn; j-- > 0;)
                CELL(i, j) = eq(ma[i], mb[j])                   ? CELL(i + 1, j + 1) + 1
                             : CELL(i + 1, j) >= CELL(i, j + 1) ? CELL(i + 1, j)
                                                                : CELL(i, j + 1);
        size_t i = 0, j = 0;
        while (i < an || j < bn) {
            if (i < an && j < bn && eq(ma[i], mb[j])) {
                ops[k++] = (op){' ', pre + i, pre + j};
                i++;
                j++;
            } else if (j < bn && (i == an || CELL(i, j + 1) > CELL(i + 1, j))) {
                ops[k++] = (op){'+', pre + i, pre + j};
                j++;
            } else {
                ops[k++] = (op){'-', pre + i, pre + j};
                i++;
            }
        }
#undef CELL
        free(L);
    } else {
        for (size_t i = 0; i < an; i++)
            ops[k++] = (op){'-', pre + i, pre};
        for (size_t j = 0; j < bn; j++)
            ops[k++] = (op){'+', pre + an, pre + j};
    }
    for (size_t i = 0; i < suf; i++)
        ops[k++] = (op){' ', n - suf + i, m - suf + i};
    return k;
}

char *sw_text_diff(const char *a, const char *b, const char *label_a, const char *label_b,
                   size_t *added, size_t *removed)
{
    size_t n, m, na = 0, nr = 0;
    line *la = split(a ? a : "", &n), *lb = split(b ? b : "", &m);
    op *ops = sw_xmalloc((n + m + 1) * sizeof *ops);
    size_t k = script(la, n, lb, m, ops);
    sw_buf out = {0};
    size_t i = 0;
    while (i < k) {
        while (i < k && ops[i].kind == ' ')
            i++;
        if (i == k)
            break;
        /* A hunk: from CONTEXT lines before this change to CONTEXT lines after the
           last change that is within 2*CONTEXT unchanged lines of the previous one. */
        size_t start = i >= CONTEXT ? i - CONTEXT : 0;
        size_t end = i;
        for (;;) {
            while (end < k && ops[end].kind != ' ')
                end++;
            size_t same = 0;
            while (end + same < k && ops[end + same].kind == ' ')
                same++;
            if (end + same == k || same > 2 * CONTEXT) {
                end += same < CONTEXT ? same : CONTEXT;
                break;
            }
            end += same;
        }
        size_t a0 = ops[start].ai, b0 = ops[start].bi, ac = 0, bc = 0;
        for (size_t x = start; x < end; x++) {
            ac += ops[x].kind != '+';
            bc += ops[x].kind != '-';
        }
        if (!out.len)
            sw_buf_printf(&out, "--- %s\n+++ %s\n", label_a, label_b);
        /* Unified format numbers an empty range by the line before it. */
        sw_buf_printf(&out, "@@ -%zu,%zu +%zu,%zu @@\n", ac ? a0 + 1 : a0, ac, bc ? b0 + 1 : b0,
                      bc);
        for (size_t x = start; x < end; x++) {
            line l = ops[x].kind == '+' ? lb[ops[x].bi] : la[ops[x].ai];
            sw_buf_append(&out, &ops[x].kind, 1);
            sw_buf_append(&out, l.s, l.n);
            sw_buf_append(&out, "\n", 1);
            na += ops[x].kind == '+';
            nr += ops[x].kind == '-';
        }
        i = end;
    }
    free(ops);
    free(la);
    free(lb);
    if (added)
        *added = na;
    if (removed)
        *removed = nr;
    return sw_buf_steal(&out);
}
