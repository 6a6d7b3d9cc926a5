/*
 * sha256_x2.c - two SHA-256 streams through the SHA-NI instructions at
 * once (see sha256_x2.h for why).
 *
 * The layout follows the instruction set's own conventions: sha256rnds2
 * works on the state split into the vectors ABEF and CDGH, takes two
 * rounds' message-plus-constant words in the low half of its third operand,
 * and sha256msg1/sha256msg2 extend the message schedule four words at a
 * time. Each group of four rounds is written out for both streams side by
 * side, so the two dependency chains interleave in the pipeline.
 */
#include "common/sha256_x2.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>

#define SHA_NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static bool cpu_has_sha_ni(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    bool sse = (c & bit_SSSE3) && (c & bit_SSE4_1);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return sse && (b & bit_SHA);
}

bool sha256_x2_supported(void)
{
    /* cpuid is slow under a hypervisor (it traps), so it is asked once; a
     * race only asks twice and stores the same answer. */
    static _Atomic int answer = -1;
    int known = answer;
    if (known < 0)
        answer = known = cpu_has_sha_ni();
    return known == 1;
}

/* A..H in host order -> the ABEF / CDGH vectors the instructions use. */
SHA_NI_TARGET static inline void state_load(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
    __m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    *abef = _mm_alignr_epi8(cdab, efgh, 8);
    *cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

SHA_NI_TARGET static inline void state_store(uint32_t h[8], __m128i abef, __m128i cdgh)
{
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

/* Message words 4i..4i+3 of a block, big-endian in memory. */
#define LOAD_WORDS(p, i) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((p) + 16 * (i))), bswap)

/* The next four schedule words from the last sixteen (w0 oldest). */
#define NEXT_WORDS(w0, w1, w2, w3)                                                                 \
    (w0 = _mm_sha256msg2_epu32(                                                                    \
         _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)), w3))

/* Four rounds of both streams, round group `i`, schedule words wa / wb. */
#define FOUR_ROUNDS(i, wa, wb)                                                                     \
    do {                                                                                           \
        __m128i k_ = _mm_loadu_si128((const __m128i *)&round_constants[4 * (i)]);                  \
        __m128i ma_ = _mm_add_epi32(wa, k_), mb_ = _mm_add_epi32(wb, k_);                          \
        cdgh_a = _mm_sha256rnds2_epu32(cdgh_a, abef_a, ma_);                                       \
        cdgh_b = _mm_sha256rnds2_epu32(cdgh_b, abef_b, mb_);                                       \
        abef_a = _mm_sha256rnds2_epu32(abef_a, cdgh_a, _mm_shuffle_epi32(ma_, 0x0E));              \
        abef_b = _mm_sha256rnds2_epu32(abef_b, cdgh_b, _mm_shuffle_epi32(mb_, 0x0E));              \
    } while (0)

/* Rounds 16..63 cycle through the four schedule vectors; `shared` streams
 * reuse stream a's schedule. */
#define SCHEDULED_ROUNDS(i, x0, x1, x2, x3)                                                        \
    do {                                                                                           \
        NEXT_WORDS(a##x0, a##x1, a##x2, a##x3);                                                    \
        if (!shared)                                                                               \
            NEXT_WORDS(b##x0, b##x1, b##x2, b##x3);                                                \
        FOUR_ROUNDS(i, a##x0, shared ? a##x0 : b##x0);                                             \
    } while (0)

SHA_NI_TARGET static inline __attribute__((always_inline)) void
compress(uint32_t state_a[8], const uint8_t *pa, uint32_t state_b[8], const uint8_t *pb,
         size_t blocks, const bool shared)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abef_a, cdgh_a, abef_b, cdgh_b;
    state_load(state_a, &abef_a, &cdgh_a);
    state_load(state_b, &abef_b, &cdgh_b);
    for (; blocks > 0; blocks--, pa += 64, pb += 64) {
        const __m128i start_abef_a = abef_a, start_cdgh_a = cdgh_a;
        const __m128i start_abef_b = abef_b, start_cdgh_b = cdgh_b;
        __m128i a0 = LOAD_WORDS(pa, 0), a1 = LOAD_WORDS(pa, 1);
        __m128i a2 = LOAD_WORDS(pa, 2), a3 = LOAD_WORDS(pa, 3);
        __m128i b0 = a0, b1 = a1, b2 = a2, b3 = a3;
        if (!shared) {
            b0 = LOAD_WORDS(pb, 0);
            b1 = LOAD_WORDS(pb, 1);
            b2 = LOAD_WORDS(pb, 2);
            b3 = LOAD_WORDS(pb, 3);
        }
        FOUR_ROUNDS(0, a0, b0);
        FOUR_ROUNDS(1, a1, b1);
        FOUR_ROUNDS(2, a2, b2);
        FOUR_ROUNDS(3, a3, b3);
        SCHEDULED_ROUNDS(4, 0, 1, 2, 3);
        SCHEDULED_ROUNDS(5, 1, 2, 3, 0);
        SCHEDULED_ROUNDS(6, 2, 3, 0, 1);
        SCHEDULED_ROUNDS(7, 3, 0, 1, 2);
        SCHEDULED_ROUNDS(8, 0, 1, 2, 3);
        SCHEDULED_ROUNDS(9, 1, 2, 3, 0);
        SCHEDULED_ROUNDS(10, 2, 3, 0, 1);
        SCHEDULED_ROUNDS(11, 3, 0, 1, 2);
        SCHEDULED_ROUNDS(12, 0, 1, 2, 3);
        SCHEDULED_ROUNDS(13, 1, 2, 3, 0);
        SCHEDULED_ROUNDS(14, 2, 3, 0, 1);
        SCHEDULED_ROUNDS(15, 3, 0, 1, 2);
        abef_a = _mm_add_epi32(abef_a, start_abef_a);
        cdgh_a = _mm_add_epi32(cdgh_a, start_cdgh_a);
        abef_b = _mm_add_epi32(abef_b, start_abef_b);
        cdgh_b = _mm_add_epi32(cdgh_b, start_cdgh_b);
    }
    state_store(state_a, abef_a, cdgh_a);
    state_store(state_b, abef_b, cdgh_b);
}

SHA_NI_TARGET void sha256_x2_blocks(uint32_t state_a[8], const uint8_t *a, uint32_t state_b[8],
                                    const uint8_t *b, size_t blocks)
{
    if (a == b)
        compress(state_a, a, state_b, b, blocks, true);
    else
        compress(state_a, a, state_b, b, blocks, false);
}

#else /* no SHA-NI on this architecture: digest.c hashes the streams one by one */

#include <stdlib.h>

bool sha256_x2_supported(void)
{
    return false;
}

void sha256_x2_blocks(uint32_t state_a[8], const uint8_t *a, uint32_t state_b[8], const uint8_t *b,
                      size_t blocks)
{
    abort();
}

#endif
