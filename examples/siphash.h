/*
 * siphash.h - SipHash-2-4 of 16 bytes (an IPv6 address, or an IPv4 one in
 * its IPv4-mapped form), for the table of udpguard.c.  A keyed hash: who
 * does not know the key cannot choose addresses that land in one place.
 */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stdint.h>

/* The hash of msg under the 128-bit key (key[0] its first 8 bytes, read
 * little-endian, as the reference implementation reads them). */
uint64_t siphash24_16(const uint64_t key[2], const uint8_t msg[16]);

#endif
