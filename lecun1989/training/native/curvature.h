// SDLM's curvature estimate, hessian_fixed._diagonal (lecun1989/network/hessian_fixed.py) in C++: on
// every element the same float64 operations in the same order, so the same bits. Each convolution is
// its 25 taps added one after the other, each sum over units runs in index order, each sum over
// digits and positions is tree_sum's pairwise tree, and exp and tanh are the ones written out there,
// with its constants (codes.h). The build fuses no multiply-add (-ffp-contract=off), and a loop the
// compiler vectorizes still does each element's operations unchanged. Denormal numbers are flushed
// to zero, as in the training kernel: hessian_fixed runs as a callback inside an XLA program, in
// XLA's flush-to-zero mode. The parameters and the estimate are in the engine's flat order
// (layout.py); the estimate is rounded once to float32, and is 0 on the padding.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "codes.h"  // offsets, H2_MAPS, PAD_VALUE, the curvature's float64 constants: written from codes.py
#include "simd.h"   // FlushDenormals

namespace lecun1989::curvature {

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

// out[c] = the tree sum over r < rows of row r's column c, for c < cols, where fill(r, row) writes row r.
template <class Fill>
void tree_sums(std::vector<double>& buffer, int64_t rows, int cols, Fill fill, double* out) {
  buffer.resize(rows * cols);
  for (int64_t r = 0; r < rows; r++) fill(r, &buffer[r * cols]);
  tree_sum(buffer.data(), rows, cols);
  std::copy_n(buffer.data(), cols, out);
}

// The parameters (or their estimates) in float64, indexed as hessian_fixed indexes the Flax layout:
// k = 5 ky + kx, pos = 8 y + x (H1) or 4 y + x (H2), m a map; f = 12 pos + m, H3's inputs.
struct Net {
  double w1[25][12], b1[64][12], w2[25][8][3][4], b2[16][12], w3[192][30], b3[30], w4[30][10], b4[10];  // w2: (k, j, group, o)
};

// f(each parameter in net, its index in the engine's order), for the 9,760 parameters.
template <class F>
void each_param(Net& net, F f) {
  for (int k = 0; k < 25; k++)
    for (int m = 0; m < 12; m++) f(net.w1[k][m], W1 + m * W1_ROW + k);
  for (int pos = 0; pos < 64; pos++)
    for (int m = 0; m < 12; m++) f(net.b1[pos][m], B1 + m * 64 + pos);
  for (int k = 0; k < 25; k++)
    for (int j = 0; j < 8; j++)
      for (int g = 0; g < 3; g++)
        for (int o = 0; o < 4; o++) f(net.w2[k][j][g][o], W2 + ((g * 25 + k) * 8 + j) * 4 + o);
  for (int pos = 0; pos < 16; pos++)
    for (int m = 0; m < 12; m++) f(net.b2[pos][m], B2 + m * 16 + pos);
  for (int i = 0; i < 192; i++)
    for (int u = 0; u < 30; u++) f(net.w3[i][u], W3 + u * 192 + (i % 12) * 16 + i / 12);
  for (int u = 0; u < 30; u++) f(net.b3[u], B3 + u);
  for (int i = 0; i < 30; i++)
    for (int o = 0; o < 10; o++) f(net.w4[i][o], W4 + o * W4_ROW + i);
  for (int o = 0; o < 10; o++) f(net.b4[o], B4 + o);
}

// A dense layer's units' total inputs a (n, units) from its inputs x (n, in): the terms in input order, then the bias.
template <int IN, int UNITS>
void dense(int64_t n, const double* x, const double (&w)[IN][UNITS], const double (&b)[UNITS], double* a) {
  for (int64_t d = 0; d < n; d++) {
    double acc[UNITS] = {};
    for (int i = 0; i < IN; i++)
      for (int u = 0; u < UNITS; u++) acc[u] = acc[u] + x[d * IN + i] * w[i][u];
    for (int u = 0; u < UNITS; u++) a[d * UNITS + u] = acc[u] + b[u];
  }
}

// A dense layer's estimates (the weights' and biases' sums over digits) into h, and the curvature at
// its inputs d2x (n, in): sums over its units in order.
template <int IN, int UNITS>
void dense_back(int64_t n, const double* x, const double* d2a, const double (&w)[IN][UNITS], double (&hw)[IN][UNITS],
                double (&hb)[UNITS], std::vector<double>& buffer, double* d2x) {
  for (int i = 0; i < IN; i++)
    tree_sums(
        buffer, n, UNITS,
        [&](int64_t d, double* row) {
          for (int u = 0; u < UNITS; u++) row[u] = (x[d * IN + i] * x[d * IN + i]) * d2a[d * UNITS + u];
        },
        hw[i]);
  tree_sums(buffer, n, UNITS, [&](int64_t d, double* row) { std::copy_n(d2a + d * UNITS, UNITS, row); }, hb);
  for (int64_t d = 0; d < n; d++)
    for (int i = 0; i < IN; i++) {
      double sum = 0.0;
      for (int u = 0; u < UNITS; u++) sum = sum + (w[i][u] * w[i][u]) * d2a[d * UNITS + u];
      d2x[d * IN + i] = sum;
    }
}

// h: the estimate over the n digits x (n, 16, 16) for the parameters p.
inline void estimate(const float* p, const float* x, int64_t n, int activation, int head, float* h) {
  FlushDenormals flush;  // as XLA runs hessian_fixed's callback: its numpy arithmetic flushes them too
  const Fn f = activation_fn(activation);
  auto w = std::make_unique<Net>(), sums = std::make_unique<Net>();  // the parameters, and their sums over digits
  each_param(*w, [p](double& v, int i) { v = p[i]; });

  // The forward pass. x0: the inputs padded to 20 x 20; x1: H1's outputs padded to 12 x 12 (y, x, map).
  std::vector<double> x0(n * 400, PAD_VALUE), a1(n * 768), x1(n * 1728, PAD_VALUE), a2(n * 192), x2(n * 192);
  std::vector<double> a3(n * 30), x3(n * 30), a4(n * 10);
  auto input = [&x0](int64_t d, int pos, int k) {  // H1's input at kernel offset k for its output pos
    return x0[d * 400 + (2 * (pos / 8) + k / 5) * 20 + 2 * (pos % 8) + k % 5];
  };
  auto h1_at = [](int64_t d, int y, int x, int m) { return ((d * 12 + y) * 12 + x) * 12 + m; };  // in x1, padded
  auto h1_input = [&](int64_t d, int pos, int k) {  // H2's inputs (12 maps) at kernel offset k for its output pos
    return h1_at(d, 2 * (pos / 4) + k / 5, 2 * (pos % 4) + k % 5, 0);
  };
  for (int64_t d = 0; d < n; d++)
    for (int i = 0; i < 256; i++) x0[d * 400 + (i / 16 + 2) * 20 + i % 16 + 2] = x[d * 256 + i];
  for (int64_t d = 0; d < n; d++)
    for (int pos = 0; pos < 64; pos++) {
      double acc[12] = {};
      for (int k = 0; k < 25; k++) {
        double v = input(d, pos, k);
        for (int m = 0; m < 12; m++) acc[m] = acc[m] + v * w->w1[k][m];
      }
      for (int m = 0; m < 12; m++) {
        double a = a1[(d * 64 + pos) * 12 + m] = acc[m] + w->b1[pos][m];
        x1[h1_at(d, pos / 8 + 2, pos % 8 + 2, m)] = act(f, a);
      }
    }
  for (int64_t d = 0; d < n; d++)
    for (int pos = 0; pos < 16; pos++) {
      double acc[3][4] = {};
      for (int k = 0; k < 25; k++)
        for (int j = 0; j < 8; j++)
          for (int g = 0; g < 3; g++) {
            double v = x1[h1_input(d, pos, k) + H2_MAPS[g][j]];
            for (int o = 0; o < 4; o++) acc[g][o] = acc[g][o] + v * w->w2[k][j][g][o];
          }
      for (int m = 0; m < 12; m++) {
        double a = a2[d * 192 + pos * 12 + m] = acc[m / 4][m % 4] + w->b2[pos][m];
        x2[d * 192 + pos * 12 + m] = act(f, a);
      }
    }
  dense(n, x2.data(), w->w3, w->b3, a3.data());
  for (int64_t i = 0; i < n * 30; i++) x3[i] = act(f, a3[i]);
  dense(n, x3.data(), w->w4, w->b4, a4.data());

  // Backward: the curvature with respect to each unit's total input (d2a) and each layer's input
  // (d2x), and the parameters' sums over digits and the connections that share them.
  std::vector<double> buffer, d2a4(n * 10), d2x3(n * 30), d2a3(n * 30), d2x2(n * 192), d2a2(n * 192);
  for (int64_t i = 0; i < n * 10; i++) {
    double s = slope(head_fn(head), a4[i]);
    d2a4[i] = MSE_CURVATURE * (s * s);
  }
  dense_back(n, x3.data(), d2a4.data(), w->w4, sums->w4, sums->b4, buffer, d2x3.data());
  for (int64_t i = 0; i < n * 30; i++) {
    double s = slope(f, a3[i]);
    d2a3[i] = s * s * d2x3[i];
  }
  dense_back(n, x2.data(), d2a3.data(), w->w3, sums->w3, sums->b3, buffer, d2x2.data());
  for (int64_t i = 0; i < n * 192; i++) {
    double s = slope(f, a2[i]);
    d2a2[i] = s * s * d2x2[i];
  }
  tree_sums(buffer, n, 192, [&](int64_t d, double* row) { std::copy_n(&d2a2[d * 192], 192, row); }, sums->b2[0]);

  // H2: the weights' sums over digits and positions, per kernel offset; and the inputs' sums over
  // the output maps o in order, added into d2x1 (at H1's padded outputs) offset after offset, group
  // after group.
  for (int k = 0; k < 25; k++)
    tree_sums(
        buffer, n * 16, 96,
        [&](int64_t r, double* row) {  // r = 16 d + pos, row (j, group, o)
          const double* in = &x1[h1_input(r / 16, int(r % 16), k)];
          for (int j = 0; j < 8; j++)
            for (int g = 0; g < 3; g++) {
              double v = in[H2_MAPS[g][j]];
              for (int o = 0; o < 4; o++) row[(j * 3 + g) * 4 + o] = (v * v) * d2a2[r * 12 + g * 4 + o];
            }
        },
        sums->w2[k][0][0]);
  std::vector<double> d2x1(n * 1728, 0.0), d2a1(n * 768);
  for (int64_t d = 0; d < n; d++)
    for (int k = 0; k < 25; k++)
      for (int pos = 0; pos < 16; pos++) {
        double* into = &d2x1[h1_input(d, pos, k)];
        for (int g = 0; g < 3; g++)
          for (int j = 0; j < 8; j++) {
            const double* d2a = &d2a2[(d * 16 + pos) * 12 + g * 4];
            const double* wg = w->w2[k][j][g];
            double back = d2a[0] * (wg[0] * wg[0]);
            for (int o = 1; o < 4; o++) back = back + d2a[o] * (wg[o] * wg[o]);
            into[H2_MAPS[g][j]] = into[H2_MAPS[g][j]] + back;
          }
      }

  // H1.
  for (int64_t d = 0; d < n; d++)
    for (int pos = 0; pos < 64; pos++)
      for (int m = 0; m < 12; m++) {
        int64_t i = (d * 64 + pos) * 12 + m;
        double s = slope(f, a1[i]);
        d2a1[i] = s * s * d2x1[h1_at(d, pos / 8 + 2, pos % 8 + 2, m)];
      }
  tree_sums(buffer, n, 768, [&](int64_t d, double* row) { std::copy_n(&d2a1[d * 768], 768, row); }, sums->b1[0]);
  for (int k = 0; k < 25; k++)
    tree_sums(
        buffer, n * 64, 12,
        [&](int64_t r, double* row) {  // r = 64 d + pos
          double v = input(r / 64, int(r % 64), k);
          for (int m = 0; m < 12; m++) row[m] = (v * v) * d2a1[r * 12 + m];
        },
        sums->w1[k]);

  std::fill_n(h, N_PARAMS, 0.0f);
  each_param(*sums, [h, n](double& sum, int i) { h[i] = float(sum / double(n)); });
}

}  // namespace lecun1989::curvature
