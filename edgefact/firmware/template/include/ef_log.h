/*
 * ef_log.h - writer of log-protocol records (docs/log-protocol.md).
 *
 * Each record is one line "EF1 <len> <crc32> <json>". Build one with
 *   ef_log_begin("metric"); ef_log_str("name", "x"); ef_log_int("value", 42); ef_log_end();
 * or use the one-call helpers below. Records go to every enabled channel (semihosting and/or the
 * UART, see EF_LOG_SEMIHOST / EF_LOG_UART). A record longer than EF_LOG_BUF_SIZE is cut at a
 * key boundary and marked "cut":1 rather than emitted broken.
 */
#ifndef EF_LOG_H
#define EF_LOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EF_LOG_BUF_SIZE
#define EF_LOG_BUF_SIZE 512
#endif

/* Record building. Keys and string values must be plain ASCII without quotes or backslashes
 * (string values are escaped, keys are not). */
void ef_log_begin(const char *type);
void ef_log_int(const char *key, int64_t value);
void ef_log_uint(const char *key, uint64_t value);
void ef_log_str(const char *key, const char *value);
void ef_log_i8_array(const char *key, const int8_t *values, size_t n);
void ef_log_i32_array(const char *key, const int32_t *values, size_t n);
void ef_log_end(void);

/* One-call helpers. */
void ef_log_msg(const char *text);                             /* {"t":"msg","text":...} */
void ef_log_metric(const char *name, int64_t value);           /* {"t":"metric",...} */
void ef_log_checksum(const char *name, uint32_t crc32);        /* {"t":"checksum","value":"%08x"} */
void ef_log_output_i8(const char *name, const int8_t *v, size_t n); /* chunked "output" records */

/* Unframed text (noise for the parser), e.g. human-readable banners. */
void ef_log_text(const char *text);

/* CRC-32 (zlib polynomial); ef_crc32(p, n) == zlib.crc32(bytes). */
uint32_t ef_crc32_update(uint32_t crc, const void *data, size_t n);
uint32_t ef_crc32(const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* EF_LOG_H */
