// The seeded generator shared bit-for-bit with the JS backend: xoshiro128** over a 4×uint32
// state held by the caller. Uniforms are (u >>> 8)·2⁻²⁴ (24 bits, exact in float32).
//
// Rounding, spelled out so the JS twin can match it exactly:
//   uniform: lo' = f32(lo), hi' = f32(hi); out = f32(lo' + f32(f32(hi' − lo')·f))  (float32 ops)
//   normal:  z in float64 (sqrt, log, cos, sin of doubles), out = f32(mean + std·z) in float64
//   dropout: two draws k0, k1 from the stream (none when n = 0) key a counter-based hash:
//            element i's word is h = mix32(mix32(lo + k0) ^ (k1 + hi·0x9E3779B9)) with lo, hi
//            the low and high 32 bits of i and mix32 Wellons's lowbias32; keep iff
//            (h >> 8)·2⁻²⁴ ≥ p (in double); the kept value is f32(1/(1 − p)) computed in
//            float64; the fused kernel writes that mask and out = f32(x·mask)
// This file is never compiled with FMA contraction (-ffp-contract=off in both build files).
#include <cmath>

#include "kernels.h"
#include "parallel.h"

namespace lernen {

namespace {

inline std::uint32_t rotl(std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

struct Xoshiro128ss {
  std::uint32_t s0, s1, s2, s3;
  explicit Xoshiro128ss(const std::uint32_t* st) : s0(st[0]), s1(st[1]), s2(st[2]), s3(st[3]) {}
  void store(std::uint32_t* st) const { st[0] = s0, st[1] = s1, st[2] = s2, st[3] = s3; }
  std::uint32_t next() {
    const std::uint32_t result = rotl(s1 * 5u, 7) * 9u;
    const std::uint32_t t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  }
  /** (u >>> 8)·2⁻²⁴ in [0, 1). */
  float uniform() { return float(next() >> 8) * 0x1p-24f; }
};

constexpr double kTwoPi = 6.283185307179586;  // 2·Math.PI

}  // namespace

void randUniform(std::uint32_t* state, float* out, i64 n, double lo, double hi) {
  Xoshiro128ss g(state);
  const float l = float(lo), h = float(hi);
  const float width = h - l;
  for (i64 i = 0; i < n; ++i) {
    const float scaled = width * g.uniform();
    out[i] = l + scaled;
  }
  g.store(state);
}

void randNormal(std::uint32_t* state, float* out, i64 n, double mean, double std) {
  Xoshiro128ss g(state);
  for (i64 i = 0; i < n; i += 2) {
    double u1 = g.uniform();
    const double u2 = g.uniform();
    if (u1 == 0.0) u1 = 0x1p-24;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = kTwoPi * u2;
    out[i] = float(mean + std * (r * std::cos(theta)));
    if (i + 1 < n) out[i + 1] = float(mean + std * (r * std::sin(theta)));
  }
  g.store(state);
}

// keep iff double(f) ≥ p for f = (h >> 8)·2⁻²⁴: as (h >> 8) is an integer k, that is
// k ≥ ceil(p·2²⁴) (p·2²⁴ is exact in double), an integer compare with no conversion.
inline std::uint32_t keepThreshold(double p) { return std::uint32_t(std::ceil(p * 0x1p24)); }

// Dropout draws its words from a counter-based hash keyed by two draws of the stream, not from
// the stream itself: every element is independent of the others, so the loop vectorises (8
// lanes of 32-bit multiplies with AVX2) and splits over threads, where xoshiro's recurrence is a
// serial chain of ~1 ns per element (W1 spent 4 % of its step there). The hash is Wellons's
// lowbias32 twice, with the key mixed in before each round (a bijection of the counter for a
// fixed key: no two elements of a call below 2³² share a word).
// The hash loops are bound by 32-bit multiplies and shifts, not memory: an AVX-512 clone (16
// lanes) beside the AVX2 one. Integer ops, so every clone computes the same words.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define LERNEN_HASH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LERNEN_HASH_CLONES
#endif

inline std::uint32_t mix32(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

LERNEN_HASH_CLONES
void maskRange(std::uint32_t lo, i64 m, std::uint32_t k0, std::uint32_t k1, std::uint32_t t,
               float keep, float* __restrict mask) {
  for (i64 j = 0; j < m; ++j) {
    const std::uint32_t h = mix32(mix32(lo + static_cast<std::uint32_t>(j) + k0) ^ k1);
    mask[j] = (h >> 8) >= t ? keep : 0.0f;
  }
}

LERNEN_HASH_CLONES
void dropoutRange(std::uint32_t lo, i64 m, std::uint32_t k0, std::uint32_t k1, std::uint32_t t,
                  float keep, const float* x, float* out, float* __restrict mask) {
  for (i64 j = 0; j < m; ++j) {
    const std::uint32_t h = mix32(mix32(lo + static_cast<std::uint32_t>(j) + k0) ^ k1);
    const float k = (h >> 8) >= t ? keep : 0.0f;
    mask[j] = k;
    out[j] = x[j] * k;  // out may be x: each element is read before it is written
  }
}

// Elements per thread below which dropout stays on one thread (about 5 us of work; W1's 65,536-element
// masks take 2 threads: 12 us instead of 21 us).
constexpr i64 kDropoutGrain = i64{1} << 14;

// The dropout stream: the key (two draws), p's keep threshold and scale, and the ranges of
// elements, each within one 2³² block of the counter, handed to
// range(lo, m, k0, k1 + hi·0x9E3779B9, t, keep, i) for elements [i, i + m).
template <class Range>
void dropoutStream(std::uint32_t* state, i64 n, double p, Range&& range) {
  if (n <= 0) return;
  Xoshiro128ss g(state);
  const std::uint32_t k0 = g.next(), k1 = g.next();
  g.store(state);
  const float keep = float(1.0 / (1.0 - p));
  const std::uint32_t t = keepThreshold(p);
  parallelFor(n, kDropoutGrain, [&](i64 b, i64 e) {
    for (i64 i = b; i < e;) {
      const i64 hi = i >> 32;
      const i64 stop = e < ((hi + 1) << 32) ? e : ((hi + 1) << 32);
      range(static_cast<std::uint32_t>(i), stop - i, k0,
            k1 + static_cast<std::uint32_t>(hi) * 0x9E3779B9u, t, keep, i);
      i = stop;
    }
  });
}

void dropoutMask(std::uint32_t* state, float* mask, i64 n, double p) {
  dropoutStream(state, n, p, [&](std::uint32_t lo, i64 m, std::uint32_t k0, std::uint32_t k1,
                                 std::uint32_t t, float keep, i64 i) {
    maskRange(lo, m, k0, k1, t, keep, mask + i);
  });
}

void dropout(std::uint32_t* state, const float* x, i64 n, double p, float* out, float* mask) {
  dropoutStream(state, n, p, [&](std::uint32_t lo, i64 m, std::uint32_t k0, std::uint32_t k1,
                                 std::uint32_t t, float keep, i64 i) {
    dropoutRange(lo, m, k0, k1, t, keep, x + i, out + i, mask + i);
  });
}

}  // namespace lernen
