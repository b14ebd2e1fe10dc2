/* util.c - errors as values, allocation that cannot fail, buffers, typo hints, clocks. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* dst = a + b, truncated to dst's size; truncation of an error message is expected, not a bug. */
static void join_message(char dst[SW_ERR_MAX], const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SW_ERR_MAX - 1)
        la = SW_ERR_MAX - 1;
    if (lb > SW_ERR_MAX - 1 - la)
        lb = SW_ERR_MAX - 1 - la;
    memmove(dst + la, b, lb);
    memmove(dst, a, la);
    dst[la + lb] = '\0';
}

int sw_err_set(sw_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int sw_err_prefix(sw_err *err, const char *fmt, ...)
{
    if (err) {
        char prefix[SW_ERR_MAX], old[SW_ERR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        join_message(err->msg, prefix, old);
    }
    return -1;
}

int sw_err_errno(sw_err *err, const char *fmt, ...)
{
    int saved = errno;
    if (err) {
        char what[SW_ERR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        size_t n = strlen(what);
        if (n < sizeof what - 3)
            memcpy(what + n, ": ", 3);
        join_message(err->msg, what, strerror(saved));
    }
    errno = saved;
    return -1;
}

static void out_of_memory(size_t n)
{
    fprintf(stderr, "slipway: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *sw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *sw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *sw_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *sw_xstrdup(const char *s)
{
    return s ? sw_xstrndup(s, strlen(s)) : NULL;
}

char *sw_xstrndup(const char *s, size_t n)
{
    char *d = sw_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *sw_xvasprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return sw_xstrdup("");
    char *s = sw_xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *sw_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = sw_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

static void buf_reserve(sw_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = sw_xrealloc(b->data, cap);
    b->cap = cap;
}

void sw_buf_append(sw_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (n) /* s may be NULL then (an empty buffer's data), which memcpy must not see */
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sw_buf_puts(sw_buf *b, const char *s)
{
    sw_buf_append(b, s, strlen(s));
}

void sw_buf_put_i64(sw_buf *b, int64_t v)
{
    char d[24], *p = d + sizeof d;
    /* Unsigned arithmetic: negating INT64_MIN as a signed value is undefined. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    sw_buf_append(b, p, (size_t)(d + sizeof d - p));
}

void sw_buf_printf(sw_buf *b, const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n > 0) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    va_end(ap);
}

char *sw_buf_steal(sw_buf *b)
{
    char *s = b->data ? b->data : sw_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void sw_buf_free(sw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Optimal string alignment distance: Levenshtein plus the swap of two adjacent
   characters as one edit, the commonest typo of all ("gaet" for "gate"). */
size_t sw_edit_distance(const char *a, const char *b, size_t max)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > max)
        return max + 1;
    size_t *rows = sw_xmalloc(3 * (lb + 1) * sizeof *rows);
    size_t *two_up = rows, *up = rows + lb + 1, *cur = rows + 2 * (lb + 1);
    for (size_t j = 0; j <= lb; j++)
        up[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        size_t best = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t v = up[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (up[j] + 1 < v)
                v = up[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                two_up[j - 2] + 1 < v)
                v = two_up[j - 2] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > max) {
            free(rows);
            return max + 1;
        }
        size_t *t = two_up;
        two_up = up;
        up = cur;
        cur = t;
    }
    size_t d = up[lb];
    free(rows);
    return d > max ? max + 1 : d;
}

const char *sw_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    /* A typo is plausible within a third of the word's length (at least 1, at most 3). */
    size_t len = strlen(word);
    size_t max = len / 3;
    if (max < 1)
        max = 1;
    if (max > 3)
        max = 3;
    const char *best = NULL;
    size_t best_d = max + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = sw_edit_distance(word, candidates[i], max);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

double sw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int64_t sw_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sw_iso8601_ms(int64_t ms, char out[32])
{
    /* Civil date from days since 1970-01-01 (proleptic Gregorian, eras of 400 years), without
       gmtime_r: it takes libc's time zone lock, which the router's threads would share. */
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t in_day = ms - days * 86400000;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    /* Formatted in room for any int64_t, then cut: every real date takes 24 bytes. */
    char t[96];
    snprintf(t, sizeof t, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)year,
             (long long)month, (long long)day, (long long)(in_day / 3600000),
             (long long)(in_day / 60000 % 60), (long long)(in_day / 1000 % 60),
             (long long)(in_day % 1000));
    memcpy(out, t, 31);
    out[31] = '\0';
}

void sw_iso8601_now(char out[32])
{
    sw_iso8601_ms(sw_wall_ms(), out);
}
