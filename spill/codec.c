/*
 * codec.c - how a chunk is stored on the NVMe tier: raw, or zstd (fast
 * level) after narrowing u64 words to 1/2/4 bytes when every value fits,
 * or after a byte shuffle (8 byte planes) otherwise. Used only for trace
 * chunks; LDE and hash chunks are stored raw (random-looking data never
 * pays). A result that is not at least 10% smaller is stored raw.
 */
#include "spill_io.h"

#include <string.h>
#include <zstd.h>

#define ZSTD_LEVEL 1

void spw_shuffle8(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t w;
        memcpy(&w, src + 8 * i, 8);
        for (unsigned b = 0; b < 8; b++) dst[b * n + i] = (uint8_t)(w >> (8 * b));
    }
}

void spw_unshuffle8(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t w = 0;
        for (unsigned b = 0; b < 8; b++) w |= (uint64_t)src[b * n + i] << (8 * b);
        memcpy(dst + 8 * i, &w, 8);
    }
}

unsigned spw_narrow_width(const uint64_t *v, size_t n)
{
    uint64_t or_all = 0;
    for (size_t i = 0; i < n; i++) or_all |= v[i];
    return or_all < (1ull << 8) ? 1 : or_all < (1ull << 16) ? 2 : or_all < (1ull << 32) ? 4 : 8;
}

void spw_narrow(uint8_t *dst, const uint64_t *src, size_t n, unsigned w)
{
    for (size_t i = 0; i < n; i++)
        for (unsigned b = 0; b < w; b++) dst[i * w + b] = (uint8_t)(src[i] >> (8 * b));
}

void spw_widen(uint64_t *dst, const uint8_t *src, size_t n, unsigned w)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (unsigned b = 0; b < w; b++) v |= (uint64_t)src[i * w + b] << (8 * b);
        dst[i] = v;
    }
}

size_t spw_codec_bound(size_t len) { return ZSTD_compressBound(len); }

void spw_codec_encode(void *dst, size_t *stored, uint32_t *codec, uint32_t *param,
                      const void *src, size_t len, int word_data, void *tmp)
{
    const void *in = src;
    size_t in_len = len;
    uint32_t c = SPW_CODEC_ZSTD, p = 0;
    *codec = SPW_CODEC_RAW;
    *param = 0;
    *stored = len;
    if (len < 64) return;
    if (word_data && len % 8 == 0 && ((uintptr_t)src % 8) == 0) {
        size_t n = len / 8;
        unsigned w = spw_narrow_width(src, n);
        if (w < 8) {
            spw_narrow(tmp, src, n, w);
            in_len = n * w;
            c = SPW_CODEC_NARROW_ZSTD;
            p = w;
        } else {
            spw_shuffle8(tmp, src, n);
            c = SPW_CODEC_SHUF_ZSTD;
        }
        in = tmp;
    }
    size_t r = ZSTD_compress(dst, spw_codec_bound(len), in, in_len, ZSTD_LEVEL);
    if (ZSTD_isError(r) || r > len - len / 10) return; /* < 10% gain: raw */
    *codec = c;
    *param = p;
    *stored = r;
}

spw_status spw_codec_decode(const spw_ctx *ctx, void *dst, size_t len, const void *src,
                            size_t stored, uint32_t codec, uint32_t param, void *tmp)
{
    size_t want = len;
    void *out = dst;
    switch (codec) {
    case SPW_CODEC_RAW:
        if (stored != len) break;
        memcpy(dst, src, len);
        return SPW_OK;
    case SPW_CODEC_ZSTD: break;
    case SPW_CODEC_SHUF_ZSTD:
        if (len % 8) goto bad;
        out = tmp;
        break;
    case SPW_CODEC_NARROW_ZSTD:
        if (len % 8 || (param != 1 && param != 2 && param != 4)) goto bad;
        want = len / 8 * param;
        out = tmp;
        break;
    default: goto bad;
    }
    if (codec == SPW_CODEC_RAW) goto bad;
    size_t r = ZSTD_decompress(out, want, src, stored);
    if (ZSTD_isError(r) || r != want)
        return spw_fail(ctx, SPW_ERR_CHECKSUM, "spill chunk: zstd decode failed (%s)",
                        ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size mismatch");
    if (codec == SPW_CODEC_SHUF_ZSTD) spw_unshuffle8(dst, tmp, len / 8);
    if (codec == SPW_CODEC_NARROW_ZSTD) spw_widen(dst, tmp, len / 8, param);
    return SPW_OK;
bad:
    return spw_fail(ctx, SPW_ERR_CHECKSUM, "spill chunk: bad codec %u/%u for %zu bytes", codec,
                    param, len);
}
