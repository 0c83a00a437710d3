/* base64.c - see base64.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

char *base64_encode (const void *data, size_t len)
{
    static const char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *in = data;
    char *out, *p;

    if (len > (SIZE_MAX - 1) / 4 * 3 - 2) {
        errno = ENOMEM;
        return NULL;
    }
    if (!(out = malloc ((len + 2) / 3 * 4 + 1)))
        return NULL;
    p = out;
    for (size_t i = 0; i < len; i += 3) {
        unsigned int v = (unsigned int)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned int)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *p++ = table[(v >> 18) & 63];
        *p++ = table[(v >> 12) & 63];
        *p++ = i + 1 < len ? table[(v >> 6) & 63] : '=';
        *p++ = i + 2 < len ? table[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

static int base64_value (unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

void *base64_decode (const char *text, size_t *lenp)
{
    size_t len = 0;
    unsigned int acc = 0;
    int bits = 0, v;
    char *out = malloc (strlen (text) / 4 * 3 + 4);

    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '=' || *p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
            continue;
        if ((v = base64_value (*p)) < 0)
            goto invalid;
        acc = ((acc << 6) | (unsigned int)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    /* Six bits left over are a character too many: no encoder writes it. */
    if (bits >= 6)
        goto invalid;
    out[len] = '\0';
    *lenp = len;
    return out;
invalid:
    explicit_bzero (out, len);
    free (out);
    errno = EINVAL;
    return NULL;
}
