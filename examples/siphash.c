/*
 * siphash.c - SipHash-2-4 (Aumasson and Bernstein, 2012) of a 16-byte
 * message, the one length udpguard.c hashes: an address.
 */
#include "config.h"

#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
    v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
    v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    int i;

    for (i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

uint64_t siphash24_16(const uint64_t key[2], const uint8_t msg[16])
{
    uint64_t v[4] = {
        UINT64_C(0x736f6d6570736575) ^ key[0],
        UINT64_C(0x646f72616e646f6d) ^ key[1],
        UINT64_C(0x6c7967656e657261) ^ key[0],
        UINT64_C(0x7465646279746573) ^ key[1],
    };
    int i, r;

    for (i = 0; i <= 16; i += 8) {
        /* the two words of the message, then the length block (16 << 56) */
        uint64_t m = i < 16 ? load_le64(msg + i) : UINT64_C(16) << 56;
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
    }
    v[2] ^= 0xff;
    for (r = 0; r < 4; r++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}
