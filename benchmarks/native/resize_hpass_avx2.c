/* Probe for the native-resize design (benchmarks/resize_native_probe.py compiles and measures it;
   nothing here ships in nhkit): nh-spec-v1 step 3 horizontal pass, exact integer arithmetic
   (Pillow's _ImagingResampleHorizontal_8bpc), AVX2 across 8 rows at a time. */
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <immintrin.h>

static inline uint8_t clip8(int32_t v) { v >>= 22; return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v; }

void hpass_scalar(const uint8_t *in, int H, int W, uint8_t *out, int OW,
                  const int32_t *xmin, const int32_t *cnt, const int32_t *k, int ks) {
  for (int y = 0; y < H; y++) {
    const uint8_t *row = in + (size_t)y * W * 3;
    uint8_t *o = out + (size_t)y * OW * 3;
    for (int x = 0; x < OW; x++) {
      const uint8_t *p = row + (size_t)xmin[x] * 3;
      const int32_t *kk = k + (size_t)x * ks;
      int32_t s0 = 1 << 21, s1 = 1 << 21, s2 = 1 << 21;
      for (int i = 0; i < cnt[x]; i++) {
        s0 += p[3 * i] * kk[i]; s1 += p[3 * i + 1] * kk[i]; s2 += p[3 * i + 2] * kk[i];
      }
      o[3 * x] = clip8(s0); o[3 * x + 1] = clip8(s1); o[3 * x + 2] = clip8(s2);
    }
  }
}

void hpass_avx2(const uint8_t *in, int H, int W, uint8_t *out, int OW,
                const int32_t *xmin, const int32_t *cnt, const int32_t *k, int ks) {
  size_t n = (size_t)W * 3;
  uint8_t *t = aligned_alloc(32, ((n * 8 + 8) + 31) / 32 * 32);
  int y0 = 0;
  const __m256i half = _mm256_set1_epi32(1 << 21), zero = _mm256_setzero_si256(),
                max = _mm256_set1_epi32(255);
  for (; y0 + 8 <= H; y0 += 8) {
    for (size_t j = 0; j < n; j++)           /* 8 rows -> [sample][row] */
      for (int r = 0; r < 8; r++) t[j * 8 + r] = in[(size_t)(y0 + r) * n + j];
    for (int x = 0; x < OW; x++) {
      __m256i a0 = half, a1 = half, a2 = half;
      const int32_t *kk = k + (size_t)x * ks;
      const uint8_t *p = t + (size_t)xmin[x] * 24;
      for (int i = 0; i < cnt[x]; i++, p += 24) {
        __m256i kv = _mm256_set1_epi32(kk[i]);
        a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)), kv));
        a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8))), kv));
        a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 16))), kv));
      }
      int32_t v[3][8];
      _mm256_storeu_si256((__m256i *)v[0], _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(a0, 22), zero), max));
      _mm256_storeu_si256((__m256i *)v[1], _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(a1, 22), zero), max));
      _mm256_storeu_si256((__m256i *)v[2], _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(a2, 22), zero), max));
      for (int r = 0; r < 8; r++) {
        uint8_t *o = out + ((size_t)(y0 + r) * OW + x) * 3;
        o[0] = (uint8_t)v[0][r]; o[1] = (uint8_t)v[1][r]; o[2] = (uint8_t)v[2][r];
      }
    }
  }
  free(t);
  if (y0 < H) hpass_scalar(in + (size_t)y0 * n, H - y0, W, out + (size_t)y0 * OW * 3, OW, xmin, cnt, k, ks);
}
