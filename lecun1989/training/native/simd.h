// Eight floats as one value (GCC/Clang vector extensions: AVX registers on x86-64-v3, pairs of
// 128-bit registers elsewhere), and the few operations the network needs on them.
//
// Every result is a fixed sequence of IEEE-754 float operations, the same on every CPU and compiler:
// build.py compiles with -ffp-contract=off, so a * b + c is two roundings unless the code writes
// fma() (one rounding, a hardware instruction on x86-64-v3 and aarch64); sums run in the order
// written (sum8's tree, sum's loop); exp() is written out here rather than taken from libm, whose
// expf differs between its builds (glibc picks an FMA build at run time).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lecun1989 {

typedef float V __attribute__((vector_size(32)));
typedef float V4 __attribute__((vector_size(16)));
constexpr int W = 8;  // floats per V

// Denormal numbers read and written as zero while it lives, as XLA runs its CPU programs (x86: MXCSR's
// DAZ and FTZ; aarch64: FPCR.FZ): the reference engines' arithmetic flushes them, and the kernel does
// so itself so that its bits do not depend on its caller (the standalone driver has no XLA around it).
// Flushing also spares x86 the microcode assist each denormal costs.
// LECUN1989_KEEP_DENORMALS makes it do nothing: tests/test_bits.py builds a driver so, to show that
// its denormal case depends on the flushing.
class FlushDenormals {
#if defined(LECUN1989_KEEP_DENORMALS)
 public:
  FlushDenormals() {}
#elif defined(__x86_64__)
  unsigned saved_ = _mm_getcsr();
 public:
  FlushDenormals() { _mm_setcsr(saved_ | 0x8040); }  // DAZ (bit 6) and FTZ (bit 15)
  ~FlushDenormals() { _mm_setcsr(saved_); }
#elif defined(__aarch64__)
  uint64_t saved_;
 public:
  FlushDenormals() {
    asm volatile("mrs %0, fpcr" : "=r"(saved_));
    asm volatile("msr fpcr, %0" : : "r"(saved_ | (uint64_t(1) << 24)));  // FZ
  }
  ~FlushDenormals() { asm volatile("msr fpcr, %0" : : "r"(saved_)); }
#else
#error "FlushDenormals: no flush-to-zero control known for this architecture"
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

inline V load(const float* p) {  // any alignment
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
inline V4 load4(const float* p) {
  V4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, V4 v) { std::memcpy(p, &v, sizeof v); }
inline V splat(float x) { return V{x, x, x, x, x, x, x, x}; }  // not V{} + x: an add (-0 + 0 = +0)
inline V fma(V a, V b, V c) {  // a * b + c, rounded once
#if defined(__FMA__)
  return V(_mm256_fmadd_ps(__m256(a), __m256(b), __m256(c)));  // the compiler's lane loop below is slower
#else
  V r;
  for (int i = 0; i < W; i++) r[i] = std::fma(a[i], b[i], c[i]);  // fmla on aarch64
  return r;
#endif
}
inline V fma(float a, V b, V c) { return fma(splat(a), b, c); }
inline V vmin(V a, V b) { return a < b ? a : b; }
inline V vmax(V a, V b) { return a > b ? a : b; }

// {sum(a[0]), ..., sum(a[7])}: eight horizontal sums in 7 shuffle-add rounds.
inline V sum8(const V a[8]) {
  auto pairs = [](V x, V y) {  // {x0+x1, x2+x3, y0+y1, y2+y3, x4+x5, x6+x7, y4+y5, y6+y7}
    return __builtin_shufflevector(x, y, 0, 2, 8, 10, 4, 6, 12, 14) + __builtin_shufflevector(x, y, 1, 3, 9, 11, 5, 7, 13, 15);
  };
  V s01 = pairs(a[0], a[1]), s23 = pairs(a[2], a[3]), s45 = pairs(a[4], a[5]), s67 = pairs(a[6], a[7]);
  V lo = pairs(s01, s23), hi = pairs(s45, s67);  // lo = {a0 a1 a2 a3 (first halves) | a0 a1 a2 a3 (second)}
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11) + __builtin_shufflevector(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15);
}

inline V vsqrt(V a) {  // vectorized by the compiler (-fno-math-errno)
  V r;
  for (int i = 0; i < W; i++) r[i] = std::sqrt(a[i]);
  return r;
}

inline float sum(V a) {
  float s = 0.0f;
  for (int i = 0; i < W; i++) s += a[i];
  return s;
}

// tanh as a rational function (odd degree 13 over even degree 6, Eigen's float coefficients), max
// abs error 3.9e-7 against float64 tanh (measured over [-9, 9] in float32), vectorized; libm's tanhf
// is scalar and was the throwaway C step's largest cost. Beyond |x| = 7.905 float32 tanh is +-1.
inline V tanh(V x) {
  x = vmax(vmin(x, splat(7.90531110763549805f)), splat(-7.90531110763549805f));
  V x2 = x * x;
  V p = fma(x2, splat(-2.76076847742355e-16f), splat(2.00018790482477e-13f));
  p = fma(p, x2, splat(-8.60467152213735e-11f));
  p = fma(p, x2, splat(5.12229709037114e-08f));
  p = fma(p, x2, splat(1.48572235717979e-05f));
  p = fma(p, x2, splat(6.37261928875436e-04f));
  p = fma(p, x2, splat(4.89352455891786e-03f));
  p = p * x;
  V q = fma(x2, splat(1.19825839466702e-06f), splat(1.18534705686654e-04f));
  q = fma(q, x2, splat(2.26843463243900e-03f));
  q = fma(q, x2, splat(4.89352518554385e-03f));
  return p / q;
}

// e^x for x <= 0 (the softmax's shifted outputs) in double: x = k ln 2 + r, |r| <= ln 2 / 2, e^r by
// its Taylor series to r^11 (relative error under 1e-14), so the float result is within 1 ulp.
inline float exp(float x) {
  if (x < -104.0f) return 0.0f;  // below half of float's smallest subnormal
  double k = std::nearbyint(double(x) * 1.4426950408889634);  // x / ln 2, to the nearest integer
  double r = double(x) - k * 0.6931471805599453;
  constexpr double INV_FACTORIAL[] = {1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720,
                                      1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 1.0, 1.0};  // 1/11! .. 1/0!
  double p = INV_FACTORIAL[0];
  for (int i = 1; i < 12; i++) p = p * r + INV_FACTORIAL[i];
  return float(std::ldexp(p, int(k)));
}

}  // namespace lecun1989
