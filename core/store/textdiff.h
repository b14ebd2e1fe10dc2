/*
 * textdiff.h - a line diff of two texts in unified format, for prompt changes.
 */
#ifndef SW_STORE_TEXTDIFF_H
#define SW_STORE_TEXTDIFF_H

#include <stddef.h>

/* The unified diff (3 lines of context, "--- label_a" / "+++ label_b" headers)
   of a and b, "" when they are equal; malloc'd. *added and *removed (may be
   NULL) receive the number of lines added and removed. The diff is minimal
   except for very large changes, which are shown as a whole replacement. */
char *sw_text_diff(const char *a, const char *b, const char *label_a, const char *label_b,
                   size_t *added, size_t *removed);

#endif
