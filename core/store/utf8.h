/*
 * utf8.h - UTF-8 validation with a position for the first bad byte.
 */
#ifndef SW_STORE_UTF8_H
#define SW_STORE_UTF8_H

#include <stddef.h>

/* The offset of the first byte that is not part of well-formed UTF-8 (RFC 3629:
   no overlong forms, no surrogates, nothing above U+10FFFF), or len when all is
   well. NUL bytes are well-formed here; callers that keep C strings check them. */
size_t sw_utf8_invalid_at(const char *s, size_t len);
/* How many bytes of s, at most max, end on a character boundary: for quoting a
   name in part ("%.*s") in a message that must stay valid UTF-8. */
int sw_utf8_clip(const char *s, int max);
/* A copy of s with every byte that is not part of well-formed UTF-8 replaced by
   '?': for messages that quote outside input and go into JSON. Caller frees. */
char *sw_utf8_scrub(const char *s);
/* 1-based line and column (in bytes) of offset in s. */
void sw_text_position(const char *s, size_t offset, int *line, int *col);

#endif
