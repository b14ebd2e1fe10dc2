/*
 * timer.h - one thread that calls functions at given times.
 *
 * The mock server suspends a connection that must wait (latency, time to
 * first chunk, a stall) and asks the timer to resume it when its time comes,
 * so no thread ever sleeps on behalf of a request and one event loop holds
 * thousands of waiting connections. Entries live in a binary heap; the
 * thread sleeps on a condition variable on the monotonic clock until the
 * earliest is due.
 */
#ifndef SW_MOCK_TIMER_H
#define SW_MOCK_TIMER_H

#include <stddef.h>

typedef struct sw_mock_timer sw_mock_timer;
typedef void (*sw_mock_timer_fn)(void *arg);

sw_mock_timer *sw_mock_timer_new(void);
/* Call fn(arg) on the timer's thread once sw_now_ms() reaches due_ms. After
   sw_mock_timer_flush, fn is called at once on the caller's thread. Every
   entry is called exactly once. */
void sw_mock_timer_add(sw_mock_timer *t, double due_ms, sw_mock_timer_fn fn, void *arg);
/* Call every pending entry now, and from now on every new one at once. */
void sw_mock_timer_flush(sw_mock_timer *t);
size_t sw_mock_timer_pending(sw_mock_timer *t);
/* Flushes, then stops the thread. */
void sw_mock_timer_free(sw_mock_timer *t);

#endif
