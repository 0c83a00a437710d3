/* record.h - the records a task sends its slot on the control channel
 * (KRUN_CONTROL_FD): written by libkrun, read by runtime/taskchannel.c.
 * docs/protocol.md ("Slot and task") describes the channel.
 *
 * A record is an 8-byte header, a type byte, three zero bytes and the payload
 * length as a 32-bit big-endian integer, then the payload:
 *   RECORD_RESULT    payload = the krun_result() bytes (at most KRUN_RESULT_MAX)
 *   RECORD_PROGRESS  payload = the fraction in millionths, decimal text:
 *                    "250000" for 0.25
 */
#ifndef KRUN_RECORD_H
#define KRUN_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_HEADER_SIZE 8
#define RECORD_RESULT 'R'
#define RECORD_PROGRESS 'P'
/* Longest progress payload; longer is a protocol error. */
#define RECORD_PROGRESS_MAX 32

static inline void record_header_pack (unsigned char *header, char type, uint32_t len)
{
    header[0] = (unsigned char)type;
    header[1] = header[2] = header[3] = 0;
    header[4] = (unsigned char)(len >> 24);
    header[5] = (unsigned char)(len >> 16);
    header[6] = (unsigned char)(len >> 8);
    header[7] = (unsigned char)len;
}

static inline uint32_t record_header_length (const unsigned char *header)
{
    return (uint32_t)header[4] << 24 | (uint32_t)header[5] << 16 |
           (uint32_t)header[6] << 8 | (uint32_t)header[7];
}

#endif
