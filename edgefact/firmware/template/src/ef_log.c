/*
 * ef_log.c - log-protocol record writer (docs/log-protocol.md).
 *
 * The JSON body is built in a static buffer so that its length and CRC-32 can precede it on the
 * line. A key/value that does not fit is dropped whole and the record gets "cut":1.
 *
 * The helpers are kept out of line: inlined into every ef_log_* function (with the 64-bit
 * division by 10 each time) they made this file 4.1 KB of flash instead of 1.8 KB on Cortex-M,
 * and the log runs outside the measured inference, so the calls cost nothing that is reported.
 */
#include <stddef.h>
#include <stdint.h>

#include "ef_log.h"
#include "ef_platform.h"

#define EF_LOG_HDR 32 /* "EF1 " + up to 10 digits + " " + 8 hex + " " */

static char ef_line[EF_LOG_HDR + EF_LOG_BUF_SIZE + 2];
static char *const ef_body = ef_line + EF_LOG_HDR;
static size_t ef_len;
static size_t ef_mark;
static int ef_cut;

uint32_t ef_crc32_update(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; ++k) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

uint32_t ef_crc32(const void *data, size_t n)
{
    return ef_crc32_update(0u, data, n);
}

/* Append raw bytes; on overflow roll back to the start of the current key. */
static __attribute__((noinline)) void ef_put(const char *s, size_t n)
{
    if (ef_cut) {
        return;
    }
    if (ef_len + n > EF_LOG_BUF_SIZE - 9) { /* keep room for ,"cut":1} */
        ef_len = ef_mark;
        ef_cut = 1;
        return;
    }
    for (size_t i = 0; i < n; ++i) {
        ef_body[ef_len++] = s[i];
    }
}

static void ef_puts_(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        ++n;
    }
    ef_put(s, n);
}

static __attribute__((noinline)) void ef_put_u64(uint64_t v)
{
    char tmp[21];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    ef_put(tmp + i, sizeof tmp - i);
}

static void ef_put_i64(int64_t v)
{
    if (v < 0) {
        ef_put("-", 1);
        ef_put_u64((uint64_t)0 - (uint64_t)v);
    } else {
        ef_put_u64((uint64_t)v);
    }
}

static __attribute__((noinline)) void ef_key(const char *key)
{
    ef_mark = ef_len;
    ef_put(",\"", 2);
    ef_puts_(key);
    ef_put("\":", 2);
}

void ef_log_begin(const char *type)
{
    ef_len = 0;
    ef_cut = 0;
    ef_mark = 0;
    ef_put("{\"t\":\"", 6);
    ef_puts_(type);
    ef_put("\"", 1);
}

void ef_log_int(const char *key, int64_t value)
{
    ef_key(key);
    ef_put_i64(value);
}

void ef_log_uint(const char *key, uint64_t value)
{
    ef_key(key);
    ef_put_u64(value);
}

void ef_log_str(const char *key, const char *value)
{
    static const char hex[] = "0123456789abcdef";
    ef_key(key);
    ef_put("\"", 1);
    for (const char *p = value; *p; ++p) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ef_put(e, 2);
        } else if (c < 0x20u || c >= 0x7Fu) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15u]};
            ef_put(e, 6);
        } else {
            ef_put((const char *)&c, 1);
        }
    }
    ef_put("\"", 1);
}

void ef_log_i8_array(const char *key, const int8_t *values, size_t n)
{
    ef_key(key);
    ef_put("[", 1);
    for (size_t i = 0; i < n; ++i) {
        if (i) {
            ef_put(",", 1);
        }
        ef_put_i64(values[i]);
    }
    ef_put("]", 1);
}

void ef_log_i32_array(const char *key, const int32_t *values, size_t n)
{
    ef_key(key);
    ef_put("[", 1);
    for (size_t i = 0; i < n; ++i) {
        if (i) {
            ef_put(",", 1);
        }
        ef_put_i64(values[i]);
    }
    ef_put("]", 1);
}

void ef_log_end(void)
{
    static const char hex[] = "0123456789abcdef";
    if (ef_cut) {
        ef_cut = 0;
        ef_put(",\"cut\":1", 8);
    }
    ef_body[ef_len++] = '}';
    uint32_t crc = ef_crc32(ef_body, ef_len);
    /* header, right-aligned against the body: "EF1 <len> <crc> " */
    char hdr[EF_LOG_HDR];
    size_t h = 0;
    char num[12];
    size_t k = sizeof num;
    size_t v = ef_len;
    do {
        num[--k] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    hdr[h++] = 'E';
    hdr[h++] = 'F';
    hdr[h++] = '1';
    hdr[h++] = ' ';
    while (k < sizeof num) {
        hdr[h++] = num[k++];
    }
    hdr[h++] = ' ';
    for (int s = 28; s >= 0; s -= 4) {
        hdr[h++] = hex[(crc >> s) & 15u];
    }
    hdr[h++] = ' ';
    char *start = ef_body - h;
    for (size_t i = 0; i < h; ++i) {
        start[i] = hdr[i];
    }
    ef_body[ef_len] = '\n';
    ef_body[ef_len + 1] = '\0';
    ef_platform_puts(start);
}

void ef_log_msg(const char *text)
{
    ef_log_begin("msg");
    ef_log_str("text", text);
    ef_log_end();
}

void ef_log_metric(const char *name, int64_t value)
{
    ef_log_begin("metric");
    ef_log_str("name", name);
    ef_log_int("value", value);
    ef_log_end();
}

void ef_log_checksum(const char *name, uint32_t crc32)
{
    static const char hex[] = "0123456789abcdef";
    char v[9];
    for (int i = 0; i < 8; ++i) {
        v[i] = hex[(crc32 >> (28 - 4 * i)) & 15u];
    }
    v[8] = '\0';
    ef_log_begin("checksum");
    ef_log_str("name", name);
    ef_log_str("value", v);
    ef_log_end();
}

#define EF_OUTPUT_CHUNK 64

void ef_log_output_i8(const char *name, const int8_t *v, size_t n)
{
    size_t off = 0;
    do {
        size_t m = n - off < EF_OUTPUT_CHUNK ? n - off : EF_OUTPUT_CHUNK;
        ef_log_begin("output");
        ef_log_str("name", name);
        ef_log_str("dtype", "int8");
        ef_log_uint("offset", off);
        ef_log_uint("n", n);
        ef_log_i8_array("values", v + off, m);
        ef_log_end();
        off += m;
    } while (off < n);
}

void ef_log_text(const char *text)
{
    ef_platform_puts(text);
}
