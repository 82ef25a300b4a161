// The seeded generator shared bit-for-bit with the JS backend: xoshiro128** over a 4×uint32
// state held by the caller. Uniforms are (u >>> 8)·2⁻²⁴ (24 bits, exact in float32).
//
// Rounding, spelled out so the JS twin can match it exactly:
//   uniform: lo' = f32(lo), hi' = f32(hi); out = f32(lo' + f32(f32(hi' − lo')·f))  (float32 ops)
//   normal:  z in float64 (sqrt, log, cos, sin of doubles), out = f32(mean + std·z) in float64
//   dropout: keep iff double(f) ≥ p; the kept value is f32(1/(1 − p)) computed in float64;
//            the fused kernel writes that mask and out = f32(x·mask)
// This file is never compiled with FMA contraction (-ffp-contract=off in both build files).
#include <cmath>

#include "kernels.h"

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

// keep iff double(f) ≥ p for f = (u >> 8)·2⁻²⁴: as (u >> 8) is an integer k, that is
// k ≥ ceil(p·2²⁴) (p·2²⁴ is exact in double), an integer compare with no conversion.
inline std::uint32_t keepThreshold(double p) { return std::uint32_t(std::ceil(p * 0x1p24)); }

// The dropout kernels run the generator in two passes over blocks of kBlock draws: first only
// the state recurrence (a short serial chain), saving the s1 word each output is made of; then
// the scrambler rotl(s1·5, 7)·9, the keep test and the stores, which vectorise. Same stream,
// same values, about 3x faster than one pass.
constexpr i64 kBlock = 256;

/** Advances g by m steps, storing the s1 word of each step in s1s. */
inline void recurrence(Xoshiro128ss& g, i64 m, std::uint32_t* s1s) {
  for (i64 j = 0; j < m; ++j) {
    s1s[j] = g.s1;
    g.next();
  }
}

LERNEN_CLONES
void maskBlock(const std::uint32_t* __restrict s1s, i64 m, std::uint32_t t, float keep,
               float* __restrict mask) {
  for (i64 j = 0; j < m; ++j) mask[j] = (rotl(s1s[j] * 5u, 7) * 9u >> 8) >= t ? keep : 0.0f;
}

LERNEN_CLONES
void dropoutBlock(const std::uint32_t* __restrict s1s, i64 m, std::uint32_t t, float keep,
                  const float* x, float* out, float* __restrict mask) {
  for (i64 j = 0; j < m; ++j) {
    const float k = (rotl(s1s[j] * 5u, 7) * 9u >> 8) >= t ? keep : 0.0f;
    mask[j] = k;
    out[j] = x[j] * k;  // out may be x: each element is read before it is written
  }
}

// The dropout stream: p's keep threshold and scale, the xoshiro128** states of each block of
// draws, handed to block(s1s, m, t, keep, i) for elements [i, i + m).
template <class Block>
void dropoutStream(std::uint32_t* state, i64 n, double p, Block&& block) {
  Xoshiro128ss g(state);
  const float keep = float(1.0 / (1.0 - p));
  const std::uint32_t t = keepThreshold(p);
  std::uint32_t s1s[kBlock];
  for (i64 i = 0; i < n; i += kBlock) {
    const i64 m = n - i < kBlock ? n - i : kBlock;
    recurrence(g, m, s1s);
    block(s1s, m, t, keep, i);
  }
  g.store(state);
}

void dropoutMask(std::uint32_t* state, float* mask, i64 n, double p) {
  dropoutStream(state, n, p, [&](const std::uint32_t* s1s, i64 m, std::uint32_t t, float keep, i64 i) {
    maskBlock(s1s, m, t, keep, mask + i);
  });
}

void dropout(std::uint32_t* state, const float* x, i64 n, double p, float* out, float* mask) {
  dropoutStream(state, n, p, [&](const std::uint32_t* s1s, i64 m, std::uint32_t t, float keep, i64 i) {
    dropoutBlock(s1s, m, t, keep, x + i, out + i, mask + i);
  });
}

}  // namespace lernen
