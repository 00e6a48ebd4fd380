/*
 * test_gpu_blake3.c - the device BLAKE3 (cuda/blake3.cu): Merkle leaves over
 * rows of column-major data, for widths of 1 to 1000 columns (single block,
 * partial blocks, exactly one chunk, multi-chunk with 2..8 chunks), against
 * the CPU BLAKE3 of each row's bytes (src/blake3.c, itself checked against
 * the published vectors) and, when b3sum is installed, against b3sum;
 * node-pair hashing against BLAKE3 of the 64 concatenated bytes.
 * Skips (77) without a GPU.
 */
#include "check_util.h"
#include "internal.h"
#ifdef SPW_HAVE_CUDA
#include "blake3.h"
#include "cuda_api.h"
#include "field.h"
#include <string.h>

static spw_cuda_arena *arena;

static void setup(void)
{
    spw_status st = spw_cuda_arena_create(&arena, (uint64_t)4 << 30);
    ck_assert_msg(st == SPW_OK, "arena: %s", spw_cuda_last_error());
}

static void teardown(void) { spw_cuda_arena_destroy(arena); }

static void hex(char *out, const uint8_t *d)
{
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* Row bytes: little-endian u64 of each column. */
static void row_bytes(uint8_t *buf, const uint64_t *cols, size_t ncols, size_t stride, size_t r)
{
    for (size_t c = 0; c < ncols; c++) {
        uint64_t v = cols[c * stride + r];
        for (int b = 0; b < 8; b++) buf[c * 8 + b] = (uint8_t)(v >> (8 * b));
    }
}

static void check_leaves(size_t ncols, size_t nrows, uint64_t seed)
{
    const size_t stride = nrows + 3;
    uint64_t *cols = malloc((ncols ? ncols : 1) * stride * 8);
    uint8_t *got = malloc(nrows * 32), *buf = malloc(ncols * 8 + 1);
    ck_assert_ptr_nonnull(cols);
    for (size_t i = 0; i < ncols * stride; i++) cols[i] = spw_test_rand(&seed); /* any u64 */
    uint64_t before = spw_cuda_kernel_launches();
    spw_status st = spw_cuda_merkle_leaves_host(arena, got, cols, ncols, stride, nrows);
    ck_assert_msg(st == SPW_OK, "%s", spw_cuda_last_error());
    ck_assert_msg(spw_cuda_kernel_launches() > before, "no kernel ran");
    for (size_t r = 0; r < nrows; r++) {
        uint8_t want[32];
        row_bytes(buf, cols, ncols, stride, r);
        spw_blake3(want, buf, ncols * 8);
        if (memcmp(got + 32 * r, want, 32)) {
            char g[65], w[65];
            hex(g, got + 32 * r);
            hex(w, want);
            ck_abort_msg("leaves: %zu columns x %zu rows: first differing row %zu: gpu %s cpu %s",
                         ncols, nrows, r, g, w);
        }
    }
    free(cols); free(got); free(buf);
}

START_TEST(test_leaves_widths)
{
    static const size_t widths[] = {1, 2, 7, 8, 9, 15, 16, 17, 32, 63, 64, 65, 100, 127, 128,
                                    129, 136, 255, 256, 257, 384, 385, 511, 512, 640, 1000};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
        check_leaves(widths[i], 1000 + i, 1 + i);
}
END_TEST

START_TEST(test_leaves_large)
{
    check_leaves(64, (size_t)1 << 18, 77);
    check_leaves(8, ((size_t)1 << 20) + 1, 78);
}
END_TEST

/* An independent implementation: b3sum on a few rows of a few widths. */
START_TEST(test_leaves_b3sum)
{
    const char *b3 = getenv("B3SUM");
    if (!b3 || !*b3) {
        fprintf(stderr, "b3sum not installed: the b3sum comparison is skipped\n");
        return;
    }
    static const size_t widths[] = {1, 8, 128, 129, 300, 1000};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        size_t ncols = widths[wi], nrows = 4;
        uint64_t seed = 900 + wi;
        uint64_t *cols = malloc(ncols * nrows * 8);
        for (size_t i = 0; i < ncols * nrows; i++) cols[i] = spw_test_rand(&seed);
        uint8_t got[4 * 32], *buf = malloc(ncols * 8);
        ck_assert_int_eq(spw_cuda_merkle_leaves_host(arena, got, cols, ncols, nrows, nrows), SPW_OK);
        for (size_t r = 0; r < nrows; r++) {
            char path[] = "/tmp/spw_gpu_b3_XXXXXX";
            int fd = mkstemp(path);
            ck_assert_int_ge(fd, 0);
            row_bytes(buf, cols, ncols, nrows, r);
            FILE *f = fdopen(fd, "wb");
            ck_assert_uint_eq(fwrite(buf, 1, ncols * 8, f), ncols * 8);
            fclose(f);
            char cmd[512], line[128] = {0}, g[65];
            snprintf(cmd, sizeof cmd, "'%s' --no-names '%s'", b3, path);
            FILE *p = popen(cmd, "r");
            ck_assert_ptr_nonnull(p);
            ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
            pclose(p);
            remove(path);
            hex(g, got + 32 * r);
            ck_assert_msg(strncmp(line, g, 64) == 0, "b3sum: %zu columns row %zu: gpu %s b3sum %.64s",
                          ncols, r, g, line);
        }
        free(cols);
        free(buf);
    }
}
END_TEST

START_TEST(test_nodes)
{
    const size_t npairs = 100003;
    uint8_t *in = malloc(npairs * 64), *got = malloc(npairs * 32);
    uint64_t seed = 5;
    for (size_t i = 0; i < npairs * 64; i++) in[i] = (uint8_t)spw_test_rand(&seed);
    uint8_t *d_in = NULL, *d_out = NULL;
    ck_assert_int_eq(spw_cuda_arena_alloc(arena, (void **)&d_in, npairs * 64), SPW_OK);
    ck_assert_int_eq(spw_cuda_arena_alloc(arena, (void **)&d_out, npairs * 32), SPW_OK);
    ck_assert_int_eq(spw_cuda_memcpy_async(d_in, in, npairs * 64, NULL), SPW_OK);
    ck_assert_int_eq(spw_cuda_merkle_nodes(NULL, d_out, d_in, npairs), SPW_OK);
    ck_assert_int_eq(spw_cuda_memcpy_async(got, d_out, npairs * 32, NULL), SPW_OK);
    ck_assert_int_eq(spw_cuda_stream_sync(NULL), SPW_OK);
    for (size_t i = 0; i < npairs; i++) {
        uint8_t want[32];
        spw_blake3(want, in + 64 * i, 64);
        ck_assert_msg(memcmp(want, got + 32 * i, 32) == 0, "node pair %zu of %zu differs", i, npairs);
    }
    ck_assert_int_eq(spw_cuda_merkle_nodes(NULL, d_out + 1, d_in, 1), SPW_ERR_INVALID_ARG);
    spw_cuda_arena_free(arena, d_in);
    spw_cuda_arena_free(arena, d_out);
    free(in);
    free(got);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_blake3");
    TCase *tc = tcase_create("blake3");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_leaves_widths);
    tcase_add_test(tc, test_leaves_large);
    tcase_add_test(tc, test_leaves_b3sum);
    tcase_add_test(tc, test_nodes);
    suite_add_tcase(s, tc);
    return spw_run_gpu_suite(s);
}
#else
int main(void)
{
    fprintf(stderr, "CUDA backend not compiled in: skipping\n");
    return SPW_EXIT_SKIP;
}
#endif
