// The 1989 network's batch-1 forward pass on fixed sizes; backward.h holds its gradient.
//
// Parameters live in one flat array in the engine's own order (layout.py builds it from fastnet's
// layout; codes.h holds its offsets). Unlike fastnet, H2 keeps only its connected
// weights: per group of 4 output maps, (25 kernel offsets, 8 input maps, 4 output maps). The rows of
// w1 and w4 and the small biases are padded with zeros to whole V; the padding's gradient is 0, so it
// stays 0.
// The 8 lanes of a V run over positions (H1: one row of 8; H2: 16 = 2 V), the long axis.
#pragma once

#include <algorithm>

#include "codes.h"  // offsets (W1 ... B4), N_PARAMS, H2_MAPS, PAD_VALUE, enum codes: written from codes.py
#include "simd.h"

namespace lecun1989 {

constexpr float PAD = PAD_VALUE;  // the paper pads with the background value

// One seed's scratch, allocated once per epoch. A padded image is stored by column parity
// (img[column & 1][row][column >> 1]), so that a stride-2 convolution reads contiguous runs.
struct alignas(64) Work {
  float x[2][20][16];      // the rolled input, padded to 20x20
  float h1[12][64];        // H1 after its activation (map, position)
  float h1p[12][2][12][8]; // H1 padded to 12x12, per map
  float p2[300][16];       // H2's patches: row (kernel offset k, input map), column position
  float h2[12][16], h2d[192], h3[32], out[16];  // h2d: H2 after dropout
  float dz4[16], dz3[32], dh2d[192], dz2[12][16], dp2[300][16], dh1p[12][2][12][8], dz1[12][64];
};

struct Tanh {
  static V f(V z) { return tanh(z); }
  static V df(V y) { return 1.0f - y * y; }
};
struct Relu {
  static V f(V z) { return vmax(z, V{}); }
  static V df(V y) { return y > 0.0f ? splat(1.0f) : V{}; }  // 0 at 0, as jax.nn.relu
};
struct ScaledTanh {  // 1.7159 tanh(2a/3): f(+-1) = +-1
  static constexpr float A = 1.7159f, S = 2.0f / 3.0f;
  static V f(V z) { return A * tanh(S * z); }
  static V df(V y) {
    V t = y * (1.0f / A);
    return (A * (1.0f - t * t)) * S;
  }
};

template <class Array>
void fill(Array& a, float value) {
  std::fill_n(reinterpret_cast<float*>(&a), sizeof a / sizeof(float), value);
}

inline void init_work(Work& s) {  // the padding never changes: written once per epoch
  fill(s.x, PAD);
  fill(s.h1p, PAD);
  fill(s.out, 0.0f);
}

// x (16x16) rolled by (s0, s1) like jnp.roll, into the interior of s.x.
inline void load_input(Work& s, const float* x, int s0, int s1) {
  float row[48];  // three copies of a row: row[16 + j - s1] is column (j - s1) mod 16
  for (int r = 0; r < 16; r++) {
    const float* src = x + ((r - s0) & 15) * 16;
    for (int c = 0; c < 48; c += W) store(row + c, load(src + c % 16));
    V a = load(row + 16 - s1), b = load(row + 24 - s1);
    store(s.x[0][r + 2] + 1, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14));
    store(s.x[1][r + 2] + 1, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15));
  }
}

// H1's input patch for kernel offset k at output row oy: its 8 positions ox = 0..7.
inline V h1_patch(const Work& s, int k, int oy) {
  int ky = k / 5, kx = k % 5;
  return load(s.x[kx & 1][2 * oy + ky] + (kx >> 1));
}

template <class Act>
void forward_h1(Work& s, const float* p) {
  for (int m0 = 0; m0 < 12; m0 += 2)  // 2 maps x 4 rows of positions: 8 accumulators
    for (int y0 = 0; y0 < 8; y0 += 4) {
      V acc[2][4];
      for (int i = 0; i < 2; i++)
        for (int r = 0; r < 4; r++) acc[i][r] = load(p + B1 + (m0 + i) * 64 + (y0 + r) * 8);
#pragma GCC unroll 25
      for (int k = 0; k < 25; k++) {
        V x[4];
        for (int r = 0; r < 4; r++) x[r] = h1_patch(s, k, y0 + r);
        for (int i = 0; i < 2; i++) {
          float w = p[W1 + (m0 + i) * W1_ROW + k];
          for (int r = 0; r < 4; r++) acc[i][r] = fma(w, x[r], acc[i][r]);
        }
      }
      for (int i = 0; i < 2; i++)
        for (int r = 0; r < 4; r++) store(s.h1[m0 + i] + (y0 + r) * 8, Act::f(acc[i][r]));
    }
}

inline void h2_patches(Work& s) {
  for (int m = 0; m < 12; m++)
    for (int y = 0; y < 8; y++) {
      V v = load(s.h1[m] + y * 8);
      store4(s.h1p[m][0][y + 2] + 1, __builtin_shufflevector(v, v, 0, 2, 4, 6));
      store4(s.h1p[m][1][y + 2] + 1, __builtin_shufflevector(v, v, 1, 3, 5, 7));
    }
  for (int k = 0; k < 25; k++) {
    int ky = k / 5, kx = k % 5;
    for (int m = 0; m < 12; m++) {
      const float* src = s.h1p[m][kx & 1][ky] + (kx >> 1);
      for (int qy = 0; qy < 4; qy += 2)  // output rows qy, qy + 1 read padded rows 2qy + ky, 2qy + 2 + ky
        store(s.p2[k * 12 + m] + qy * 4, __builtin_shufflevector(load4(src + 2 * qy * 8), load4(src + (2 * qy + 2) * 8), 0, 1, 2, 3, 4, 5, 6, 7));
    }
  }
}

template <class Act>
void forward_h2(Work& s, const float* p) {
#pragma GCC unroll 3
  for (int g = 0; g < 3; g++) {  // 4 output maps x 2 V of positions: 8 accumulators
    V acc[4][2];
    for (int o = 0; o < 4; o++)
      for (int h = 0; h < 2; h++) acc[o][h] = load(p + B2 + (4 * g + o) * 16 + 8 * h);
    for (int k = 0; k < 25; k++)
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) {
        const float* row = s.p2[k * 12 + H2_MAPS[g][j]];
        const float* w = p + W2 + ((g * 25 + k) * 8 + j) * 4;
        V r0 = load(row), r1 = load(row + 8);
        for (int o = 0; o < 4; o++) {
          acc[o][0] = fma(w[o], r0, acc[o][0]);
          acc[o][1] = fma(w[o], r1, acc[o][1]);
        }
      }
    for (int o = 0; o < 4; o++)
      for (int h = 0; h < 2; h++) store(s.h2[4 * g + o] + 8 * h, Act::f(acc[o][h]));
  }
}

// Inverted dropout of 8 values: h / keep_prob where keep is set, else 0 (the divisions are
// exact, so dividing all 8 lanes at once gives the scalar loop's bits).
inline V dropped(V h, const bool* keep, float keep_prob) {
  typedef int8_t B8 __attribute__((vector_size(8)));
  typedef int32_t I8 __attribute__((vector_size(32)));
  B8 k;
  std::memcpy(&k, keep, sizeof k);
  return __builtin_convertvector(k, I8) != 0 ? h / keep_prob : V{};
}

// keep: this step's dropout mask in (map, position) order, or null without dropout.
inline void dropout(Work& s, const bool* keep, float keep_prob) {
  for (int i = 0; i < 192; i += W) store(s.h2d + i, keep == nullptr ? load(s.h2[0] + i) : dropped(load(s.h2[0] + i), keep + i, keep_prob));
}

// 8 dot products: rows i of a (stride apart, n floats each, n a multiple of W) with v.
inline V dot8(const float* a, int stride, const float* v, int n) {
  V acc[8] = {};
  for (int c = 0; c < n; c += W) {
    V x = load(v + c);
    for (int i = 0; i < 8; i++) acc[i] = fma(load(a + i * stride + c), x, acc[i]);
  }
  return sum8(acc);
}

template <class Act>
void forward_h3_out(Work& s, const float* p) {
  for (int j = 0; j < 24; j += 8) store(s.h3 + j, Act::f(dot8(p + W3 + j * 192, 192, s.h2d, 192) + load(p + B3 + j)));
  // The last 6 units: rows 24..29, read as 22..29 (two rows again) and shifted into place.
  V last = Act::f(dot8(p + W3 + 22 * 192, 192, s.h2d, 192) + load(p + B3 + 22));
  store(s.h3 + 24, __builtin_shufflevector(last, V{}, 2, 3, 4, 5, 6, 7, 8, 8));  // units 30, 31: 0
  store(s.out, dot8(p + W4, W4_ROW, s.h3, 32) + load(p + B4));
  V o = dot8(p + W4 + 2 * W4_ROW, W4_ROW, s.h3, 32) + load(p + B4 + 2);  // outputs 2..9
  store(s.out + 8, __builtin_shufflevector(o, V{}, 6, 7, 8, 8, 8, 8, 8, 8));
}

}  // namespace lecun1989
