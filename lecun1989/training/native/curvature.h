// SDLM's curvature estimate, hessian_fixed._diagonal (lecun1989/network/hessian_fixed.py) in C++: on
// every element the same float64 operations in the same order, so the same bits. Each convolution is
// its 25 taps added one after the other, each sum over units runs in index order, each sum over
// digits and positions is tree_sum's pairwise tree, and exp and tanh are the ones written out there,
// with its constants (codes.h). The build fuses no multiply-add (-ffp-contract=off), and a loop the
// compiler vectorizes still does each element's operations unchanged. The parameters and the
// estimate are in the engine's flat order (layout.py); the estimate is rounded once to float32, and
// is 0 on the padding.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "codes.h"  // offsets, H2_MAPS, PAD_VALUE, the curvature's float64 constants: written from codes.py

namespace lecun1989::curvature {

// IEEE-754's defaults while it lives, as numpy computes: round to nearest, denormal numbers kept
// (XLA calls the library with them flushed to zero; simd.h's FlushDenormals).
class IeeeDefaults {
#if defined(__x86_64__)
  unsigned saved_ = _mm_getcsr();
 public:
  IeeeDefaults() { _mm_setcsr(saved_ & ~0xE040u); }  // MXCSR: rounding (bits 13, 14), DAZ (6), FTZ (15)
  ~IeeeDefaults() { _mm_setcsr(saved_); }
#elif defined(__aarch64__)
  uint64_t saved_;
 public:
  IeeeDefaults() {
    asm volatile("mrs %0, fpcr" : "=r"(saved_));
    asm volatile("msr fpcr, %0" : : "r"(saved_ & ~(uint64_t(7) << 22)));  // FPCR: rounding (bits 22, 23), FZ (24)
  }
  ~IeeeDefaults() { asm volatile("msr fpcr, %0" : : "r"(saved_)); }
#else
#error "IeeeDefaults: no floating-point control known for this architecture"
#endif
  IeeeDefaults(const IeeeDefaults&) = delete;
  IeeeDefaults& operator=(const IeeeDefaults&) = delete;
};

inline double exp(double x) {  // hessian_fixed.exp, for x in [0, 60]
  double k = std::nearbyint(x * LOG2E);  // to nearest, ties to even: np.rint
  double r = x - k * LN2;
  double p = INV_FACTORIAL[0];
  for (size_t i = 1; i < std::size(INV_FACTORIAL); i++) p = p * r + INV_FACTORIAL[i];
  return std::ldexp(p, int(k));
}

inline double tanh(double a) {
  double t = 1.0 - 2.0 / (exp(std::min(2.0 * std::fabs(a), 60.0)) + 1.0);
  return a < 0 ? -t : t;
}

enum class Fn { TANH, SCALED_TANH, RELU, LINEAR };  // hessian_fixed's act and slope names

inline Fn activation_fn(int code) { return code == TANH ? Fn::TANH : code == RELU ? Fn::RELU : Fn::SCALED_TANH; }
inline Fn head_fn(int code) { return code == HEAD_TANH ? Fn::TANH : code == HEAD_LINEAR ? Fn::LINEAR : Fn::SCALED_TANH; }

inline double act(Fn f, double a) {
  if (f == Fn::TANH) return tanh(a);
  if (f == Fn::SCALED_TANH) return SCALED_A * tanh(SCALED_S * a);
  if (f == Fn::RELU) return a > 0.0 ? a : 0.0;  // np.maximum(a, 0.0): +0 at -0
  return a;
}

inline double slope(Fn f, double a) {
  if (f == Fn::TANH) {
    double t = tanh(a);
    return 1.0 - t * t;
  }
  if (f == Fn::SCALED_TANH) {
    double t = tanh(SCALED_S * a);
    return SCALED_A * (1.0 - t * t) * SCALED_S;
  }
  if (f == Fn::RELU) return a > 0.0 ? 1.0 : 0.0;
  return 1.0;
}

// hessian_fixed.tree_sum over the rows of a (rows, cols) array, in place: the halves added
// elementwise, an odd count's last row carried, until the sums are row 0.
inline void tree_sum(double* a, int64_t rows, int64_t cols) {
  while (rows > 1) {
    int64_t half = rows / 2;
    for (int64_t i = 0; i < half * cols; i++) a[i] = a[i] + a[i + half * cols];
    if (rows % 2) std::copy_n(a + 2 * half * cols, cols, a + half * cols);
    rows = half + rows % 2;
  }
}

// put(c, the tree sum over r < rows of term(r, c)) for each c < cols.
template <class Term, class Put>
void tree_sums(std::vector<double>& buffer, int64_t rows, int cols, Term term, Put put) {
  buffer.resize(rows * cols);
  for (int64_t r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) buffer[r * cols + c] = term(r, c);
  tree_sum(buffer.data(), rows, cols);
  for (int c = 0; c < cols; c++) put(c, buffer[c]);
}

// Where each parameter, indexed as hessian_fixed indexes the Flax layout, sits in the engine's order.
inline int w1_at(int k, int m) { return W1 + m * W1_ROW + k; }                                 // H1 (ky, kx, 0, m), k = 5 ky + kx
inline int b1_at(int pos, int m) { return B1 + m * 64 + pos; }                                  // H1_bias (y, x, m), pos = 8 y + x
inline int w2_at(int k, int j, int g, int o) { return W2 + ((g * 25 + k) * 8 + j) * 4 + o; }  // H2_g (ky, kx, j, o)
inline int b2_at(int pos, int m) { return B2 + m * 16 + pos; }                                  // H2_bias (y, x, m), pos = 4 y + x
inline int w3_at(int f, int u) { return W3 + u * 192 + (f % 12) * 16 + f / 12; }              // H3 (f, u), f = 12 pos + m
inline int w4_at(int f, int o) { return W4 + o * W4_ROW + f; }                                  // out (f, o)

// h: the estimate over the n digits x (n, 16, 16) for the parameters p.
inline void estimate(const float* p, const float* x, int64_t n, int activation, int head, float* h) {
  IeeeDefaults ieee;
  const Fn f = activation_fn(activation);
  auto w = [p](int i) { return double(p[i]); };
  std::fill_n(h, N_PARAMS, 0.0f);
  auto put_at = [h, n](auto at) { return [h, n, at](int c, double sum) { h[at(c)] = float(sum / double(n)); }; };

  // The forward pass. x0: the input padded to 20 x 20; x1: H1's outputs padded to 12 x 12 (y, x, map).
  std::vector<double> x0(n * 400, PAD_VALUE), a1(n * 768), x1(n * 1728, PAD_VALUE), a2(n * 192), x2(n * 192);
  std::vector<double> a3(n * 30), x3(n * 30), a4(n * 10);
  for (int64_t d = 0; d < n; d++)
    for (int i = 0; i < 256; i++) x0[d * 400 + (i / 16 + 2) * 20 + i % 16 + 2] = x[d * 256 + i];
  for (int64_t d = 0; d < n; d++)
    for (int pos = 0; pos < 64; pos++) {
      double acc[12] = {};
      for (int k = 0; k < 25; k++) {
        double v = x0[d * 400 + (2 * (pos / 8) + k / 5) * 20 + 2 * (pos % 8) + k % 5];
        for (int m = 0; m < 12; m++) acc[m] = acc[m] + v * w(w1_at(k, m));
      }
      for (int m = 0; m < 12; m++) {
        double a = a1[(d * 64 + pos) * 12 + m] = acc[m] + w(b1_at(pos, m));
        x1[(d * 144 + (pos / 8 + 2) * 12 + pos % 8 + 2) * 12 + m] = act(f, a);
      }
    }
  auto h1_input = [&x1](int64_t d, int pos, int k, int map) {  // H2's input at kernel offset k for its output pos
    return x1[(d * 144 + (2 * (pos / 4) + k / 5) * 12 + 2 * (pos % 4) + k % 5) * 12 + map];
  };
  for (int64_t d = 0; d < n; d++)
    for (int pos = 0; pos < 16; pos++) {
      double acc[3][4] = {};
      for (int k = 0; k < 25; k++)
        for (int j = 0; j < 8; j++)
          for (int g = 0; g < 3; g++) {
            double v = h1_input(d, pos, k, H2_MAPS[g][j]);
            for (int o = 0; o < 4; o++) acc[g][o] = acc[g][o] + v * w(w2_at(k, j, g, o));
          }
      for (int m = 0; m < 12; m++) {
        double a = a2[d * 192 + pos * 12 + m] = acc[m / 4][m % 4] + w(b2_at(pos, m));
        x2[d * 192 + pos * 12 + m] = act(f, a);
      }
    }
  auto dense = [n, &w](const std::vector<double>& x, int in, int units, auto at, int bias, std::vector<double>& a) {
    for (int64_t d = 0; d < n; d++) {
      double acc[30] = {};
      for (int i = 0; i < in; i++)
        for (int u = 0; u < units; u++) acc[u] = acc[u] + x[d * in + i] * w(at(i, u));
      for (int u = 0; u < units; u++) a[d * units + u] = acc[u] + w(bias + u);
    }
  };
  dense(x2, 192, 30, w3_at, B3, a3);
  for (int64_t i = 0; i < n * 30; i++) x3[i] = act(f, a3[i]);
  dense(x3, 30, 10, w4_at, B4, a4);

  // Backward, the curvature of the loss with respect to each unit's total input (d2a) and each
  // layer's input (d2x), and the parameters' sums over digits and connections.
  std::vector<double> buffer, d2a4(n * 10), d2x3, d2x2;
  for (int64_t i = 0; i < n * 10; i++) {
    double s = slope(head_fn(head), a4[i]);
    d2a4[i] = MSE_CURVATURE * (s * s);
  }
  auto dense_back = [&](const std::vector<double>& x, const std::vector<double>& d2a, int in, int units, auto at, int bias) {
    for (int i = 0; i < in; i++)
      tree_sums(
          buffer, n, units, [&](int64_t d, int u) { return (x[d * in + i] * x[d * in + i]) * d2a[d * units + u]; },
          put_at([&at, i](int u) { return at(i, u); }));
    tree_sums(buffer, n, units, [&](int64_t d, int u) { return d2a[d * units + u]; }, put_at([bias](int u) { return bias + u; }));
    std::vector<double> d2x(n * in, 0.0);
    for (int64_t d = 0; d < n; d++)
      for (int u = 0; u < units; u++)
        for (int i = 0; i < in; i++) d2x[d * in + i] = d2x[d * in + i] + (w(at(i, u)) * w(at(i, u))) * d2a[d * units + u];
    return d2x;
  };
  d2x3 = dense_back(x3, d2a4, 30, 10, w4_at, B4);
  std::vector<double> d2a3(n * 30), d2a2(n * 192);
  for (int64_t i = 0; i < n * 30; i++) {
    double s = slope(f, a3[i]);
    d2a3[i] = s * s * d2x3[i];
  }
  d2x2 = dense_back(x2, d2a3, 192, 30, w3_at, B3);
  for (int64_t i = 0; i < n * 192; i++) {
    double s = slope(f, a2[i]);
    d2a2[i] = s * s * d2x2[i];
  }
  tree_sums(buffer, n, 192, [&](int64_t d, int i) { return d2a2[d * 192 + i]; }, put_at([](int i) { return b2_at(i / 12, i % 12); }));

  // H2: per kernel offset, the weights' sums over digits and positions, and the inputs' sums over
  // the output maps o in order, added into d2x1 (H1's padded outputs) offset after offset, group after group.
  std::vector<double> d2x1(n * 1728, 0.0);
  for (int k = 0; k < 25; k++) {
    for (int g = 0; g < 3; g++)
      for (int j = 0; j < 8; j++)
        tree_sums(
            buffer, n * 16, 4,
            [&](int64_t r, int o) {
              double v = h1_input(r / 16, int(r % 16), k, H2_MAPS[g][j]);
              return (v * v) * d2a2[r * 12 + g * 4 + o];
            },
            put_at([k, j, g](int o) { return w2_at(k, j, g, o); }));
    for (int64_t d = 0; d < n; d++)
      for (int pos = 0; pos < 16; pos++)
        for (int g = 0; g < 3; g++)
          for (int j = 0; j < 8; j++) {
            const double* d2a = &d2a2[(d * 16 + pos) * 12 + g * 4];
            double back = d2a[0] * (w(w2_at(k, j, g, 0)) * w(w2_at(k, j, g, 0)));
            for (int o = 1; o < 4; o++) back = back + d2a[o] * (w(w2_at(k, j, g, o)) * w(w2_at(k, j, g, o)));
            double& into = d2x1[(d * 144 + (2 * (pos / 4) + k / 5) * 12 + 2 * (pos % 4) + k % 5) * 12 + H2_MAPS[g][j]];
            into = into + back;
          }
  }

  // H1.
  std::vector<double> d2a1(n * 768);
  for (int64_t d = 0; d < n; d++)
    for (int pos = 0; pos < 64; pos++)
      for (int m = 0; m < 12; m++) {
        int64_t i = (d * 64 + pos) * 12 + m;
        double s = slope(f, a1[i]);
        d2a1[i] = s * s * d2x1[(d * 144 + (pos / 8 + 2) * 12 + pos % 8 + 2) * 12 + m];
      }
  tree_sums(buffer, n, 768, [&](int64_t d, int i) { return d2a1[d * 768 + i]; }, put_at([](int i) { return b1_at(i / 12, i % 12); }));
  for (int k = 0; k < 25; k++)
    tree_sums(
        buffer, n * 64, 12,
        [&](int64_t r, int m) {
          double v = x0[(r / 64) * 400 + (2 * (r % 64 / 8) + k / 5) * 20 + 2 * (r % 8) + k % 5];
          return (v * v) * d2a1[r * 12 + m];
        },
        put_at([k](int m) { return w1_at(k, m); }));
}

}  // namespace lecun1989::curvature
