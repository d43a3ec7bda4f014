// One batch-1 training step of the 1989 network, forward and backward, on fixed sizes.
//
// Parameters live in one flat array in the engine's own order (lecun1989/training/native/layout.py
// builds it from fastnet's layout; the offsets below must match it). Unlike fastnet, H2 stores only
// its connected weights: per group of 4 output maps, (25 kernel offsets, 8 input maps, 4 outputs).
// The 8 lanes of a V run over positions (H1: 8 per row, H2: 16 = 2 V), as the long axis.
#pragma once

#include <algorithm>
#include <initializer_list>

#include "simd.h"

namespace lecun1989 {

constexpr int W2 = 0, W3 = 2400, B1 = 8160, B2 = 8928, W1 = 9120, W4 = 9420, B3 = 9720, B4 = 9750;
constexpr int N_PARAMS = 9760;
constexpr int H2_MAPS[3][8] = {{0, 1, 2, 3, 4, 5, 6, 7}, {4, 5, 6, 7, 8, 9, 10, 11}, {0, 1, 2, 3, 8, 9, 10, 11}};
constexpr float PAD = -1.0f;  // the paper pads with the background value

// Per-seed scratch, allocated once per epoch. Images are stored as their even and odd columns, so
// that a stride-2 convolution reads contiguous runs.
struct alignas(64) Work {
  float xe[20][16], xo[20][16];         // the rolled input padded to 20x20: columns 0,2,..,18 / 1,3,..,19
  float h1[12][64];                     // H1 after its activation (map, position)
  float he[12][12][8], ho[12][12][8];   // H1 padded to 12x12: even / odd columns
  float p2[300][16];                    // H2's patches: row (kernel offset k, input map), column position
  float h2[12][16], h2d[192];           // H2 after its activation, and after dropout
  float h3[32], out[16];                // H3 (30 used), the outputs (10 used)
  float dz4[16], dh3[32], dz3[32], dh2d[192], dz2[12][16];
  float dp2[300][16];
  float dhe[12][12][8], dho[12][12][8];
  float dz1[12][64];
  alignas(64) float grad[N_PARAMS];
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

inline void pad_borders(Work& s) {  // the padding never changes: written once per epoch
  for (auto* img : {&s.xe, &s.xo}) fill(*img, PAD);
  for (auto* img : {&s.he, &s.ho}) fill(*img, PAD);
}

// x (16x16) rolled by (s0, s1) like jnp.roll, into the interior of xe / xo.
inline void load_input(Work& s, const float* x, int s0, int s1) {
  for (int r = 0; r < 16; r++) {
    const float* src = x + ((r - s0) & 15) * 16;
    for (int e = 0; e < 8; e++) {
      s.xe[r + 2][e + 1] = src[(2 * e - s1) & 15];
      s.xo[r + 2][e + 1] = src[(2 * e + 1 - s1) & 15];
    }
  }
}

// H1's input patch for kernel offset k at output row oy: 8 positions (ox = 0..7).
inline V h1_patch(const Work& s, int k, int oy) {
  int ky = k / 5, kx = k % 5;
  return load((kx & 1 ? s.xo : s.xe)[2 * oy + ky] + (kx >> 1));
}

template <class Act>
void forward_h1(Work& s, const float* p) {
  for (int m0 = 0; m0 < 12; m0 += 3)  // 3 maps x 4 rows of positions: 12 accumulators
    for (int y0 = 0; y0 < 8; y0 += 4) {
      V acc[3][4];
      for (int i = 0; i < 3; i++)
        for (int r = 0; r < 4; r++) acc[i][r] = load(p + B1 + (m0 + i) * 64 + (y0 + r) * 8);
      for (int k = 0; k < 25; k++) {
        V x[4];
        for (int r = 0; r < 4; r++) x[r] = h1_patch(s, k, y0 + r);
        for (int i = 0; i < 3; i++) {
          float w = p[W1 + (m0 + i) * 25 + k];
          for (int r = 0; r < 4; r++) acc[i][r] += w * x[r];
        }
      }
      for (int i = 0; i < 3; i++)
        for (int r = 0; r < 4; r++) store(s.h1[m0 + i] + (y0 + r) * 8, Act::f(acc[i][r]));
    }
}

inline void h2_patches(Work& s) {
  for (int m = 0; m < 12; m++)
    for (int y = 0; y < 8; y++) {
      V v = load(s.h1[m] + y * 8);
      store4(s.he[m][y + 2] + 1, __builtin_shufflevector(v, v, 0, 2, 4, 6));
      store4(s.ho[m][y + 2] + 1, __builtin_shufflevector(v, v, 1, 3, 5, 7));
    }
  for (int k = 0; k < 25; k++) {
    int ky = k / 5, kx = k % 5;
    for (int m = 0; m < 12; m++) {
      const float* src = (kx & 1 ? s.ho : s.he)[m][ky] + (kx >> 1);
      for (int qy = 0; qy < 4; qy++) store4(s.p2[k * 12 + m] + qy * 4, load4(src + 2 * qy * 8));
    }
  }
}

template <class Act>
void forward_h2(Work& s, const float* p) {
  for (int g = 0; g < 3; g++) {  // 4 output maps x 2 V of positions: 8 accumulators
    V acc[4][2];
    for (int o = 0; o < 4; o++)
      for (int h = 0; h < 2; h++) acc[o][h] = load(p + B2 + (4 * g + o) * 16 + 8 * h);
    for (int k = 0; k < 25; k++)
      for (int j = 0; j < 8; j++) {
        const float* row = s.p2[k * 12 + H2_MAPS[g][j]];
        const float* w = p + W2 + ((g * 25 + k) * 8 + j) * 4;
        V r0 = load(row), r1 = load(row + 8);
        for (int o = 0; o < 4; o++) {
          acc[o][0] += w[o] * r0;
          acc[o][1] += w[o] * r1;
        }
      }
    for (int o = 0; o < 4; o++)
      for (int h = 0; h < 2; h++) store(s.h2[4 * g + o] + 8 * h, Act::f(acc[o][h]));
  }
}

// keep: this step's dropout mask in (map, position) order, or null without dropout.
inline void dropout(Work& s, const bool* keep, float keep_prob) {
  const float* h2 = s.h2[0];
  for (int i = 0; i < 192; i++) s.h2d[i] = keep == nullptr ? h2[i] : keep[i] ? h2[i] / keep_prob : 0.0f;
}

template <class Act>
void forward_h3_out(Work& s, const float* p) {
  for (int j0 = 0; j0 < 32; j0 += 8) {  // 8 dot products of length 192 at a time
    V acc[8] = {};
    for (int c = 0; c < 192; c += W) {
      V h = load(s.h2d + c);
      for (int i = 0; i < 8; i++) acc[i] += load(p + W3 + (j0 + i < 30 ? j0 + i : 29) * 192 + c) * h;
    }
    V z = sum8(acc);
    for (int i = 0; i < 8 && j0 + i < 30; i++) z[i] += p[B3 + j0 + i];
    store(s.h3 + j0, Act::f(z));
  }
  s.h3[30] = s.h3[31] = 0.0f;
  for (int i = 0; i < 10; i++) {
    float z = p[B4 + i];
    for (int j = 0; j < 30; j++) z += p[W4 + i * 30 + j] * s.h3[j];
    s.out[i] = z;
  }
}

inline void backward_h2(Work& s, const float* p) {
  float* g = s.grad;
  for (int gi = 0; gi < 3; gi++) {
    V d[4][2];
    for (int o = 0; o < 4; o++)
      for (int h = 0; h < 2; h++) d[o][h] = load(s.dz2[4 * gi + o] + 8 * h);
    // Weight gradient: two patch rows x 4 output maps = 8 dot products of length 16, summed
    // together into one V, which is 8 consecutive weights of this layout.
    for (int k = 0; k < 25; k++)
      for (int j = 0; j < 8; j += 2) {
        V a[8];
        for (int jj = 0; jj < 2; jj++) {
          const float* row = s.p2[k * 12 + H2_MAPS[gi][j + jj]];
          V r0 = load(row), r1 = load(row + 8);
          for (int o = 0; o < 4; o++) a[4 * jj + o] = d[o][0] * r0 + d[o][1] * r1;
        }
        store(g + W2 + ((gi * 25 + k) * 8 + j) * 4, sum8(a));
      }
    // The patches' gradient: each input map is in two groups; its first group stores, the other adds.
    for (int k = 0; k < 25; k++)
      for (int j = 0; j < 8; j++) {
        int m = H2_MAPS[gi][j];
        const float* w = p + W2 + ((gi * 25 + k) * 8 + j) * 4;
        V a0 = w[0] * d[0][0] + w[1] * d[1][0] + w[2] * d[2][0] + w[3] * d[3][0];
        V a1 = w[0] * d[0][1] + w[1] * d[1][1] + w[2] * d[2][1] + w[3] * d[3][1];
        float* dst = s.dp2[k * 12 + m];
        if (gi == 0 || (gi == 1 && m >= 8)) {
          store(dst, a0);
          store(dst + 8, a1);
        } else {
          store(dst, load(dst) + a0);
          store(dst + 8, load(dst + 8) + a1);
        }
      }
  }
}

// The patches' gradient summed back onto H1 (the inverse of h2_patches), then H1's own gradients.
template <class Act>
void backward_h1(Work& s) {
  float* g = s.grad;
  fill(s.dhe, 0.0f);
  fill(s.dho, 0.0f);
  for (int k = 0; k < 25; k++) {
    int ky = k / 5, kx = k % 5;
    for (int m = 0; m < 12; m++) {
      const float* src = s.dp2[k * 12 + m];
      float* dst = (kx & 1 ? s.dho : s.dhe)[m][ky] + (kx >> 1);
      for (int qy = 0; qy < 4; qy++) store4(dst + 2 * qy * 8, load4(dst + 2 * qy * 8) + load4(src + qy * 4));
    }
  }
  for (int m = 0; m < 12; m++)
    for (int y = 0; y < 8; y++) {
      V4 e = load4(s.dhe[m][y + 2] + 1), o = load4(s.dho[m][y + 2] + 1);
      V d = __builtin_shufflevector(e, o, 0, 4, 1, 5, 2, 6, 3, 7) * Act::df(load(s.h1[m] + y * 8));
      store(s.dz1[m] + y * 8, d);
      store(g + B1 + m * 64 + y * 8, d);
    }
  for (int m = 0; m < 12; m++) {
    for (int k0 = 0; k0 < 24; k0 += 8) {  // 8 kernel offsets at a time, then the 25th
      V a[8] = {};
      for (int y = 0; y < 8; y++) {
        V d = load(s.dz1[m] + y * 8);
        for (int i = 0; i < 8; i++) a[i] += d * h1_patch(s, k0 + i, y);
      }
      store(g + W1 + m * 25 + k0, sum8(a));
    }
    V a = {};
    for (int y = 0; y < 8; y++) a += load(s.dz1[m] + y * 8) * h1_patch(s, 24, y);
    g[W1 + m * 25 + 24] = sum(a);
  }
}

// Backward from dz4 (the loss's gradient at the output units' total inputs) to every weight.
template <class Act>
void backward(Work& s, const float* p, const bool* keep, float keep_prob) {
  float* g = s.grad;
  for (int j = 0; j < 32; j++) s.dh3[j] = 0.0f;
  for (int i = 0; i < 10; i++) {
    g[B4 + i] = s.dz4[i];
    for (int j = 0; j < 30; j++) {
      g[W4 + i * 30 + j] = s.dz4[i] * s.h3[j];
      s.dh3[j] += p[W4 + i * 30 + j] * s.dz4[i];
    }
  }
  for (int j = 0; j < 32; j += W) store(s.dz3 + j, load(s.dh3 + j) * Act::df(load(s.h3 + j)));
  for (int j = 0; j < 30; j++) {
    g[B3 + j] = s.dz3[j];
    for (int c = 0; c < 192; c += W) store(g + W3 + j * 192 + c, s.dz3[j] * load(s.h2d + c));
  }
  for (int c0 = 0; c0 < 192; c0 += 6 * W) {  // dh2d = w3^T dz3, 6 V at a time
    V acc[6] = {};
    for (int j = 0; j < 30; j++)
      for (int i = 0; i < 6; i++) acc[i] += s.dz3[j] * load(p + W3 + j * 192 + c0 + i * W);
    for (int i = 0; i < 6; i++) store(s.dh2d + c0 + i * W, acc[i]);
  }
  for (int i = 0; i < 192; i++) {
    float d = keep == nullptr ? s.dh2d[i] : keep[i] ? s.dh2d[i] / keep_prob : 0.0f;
    s.dh2d[i] = d;
  }
  for (int c = 0; c < 192; c += W) {
    V d = load(s.dh2d + c) * Act::df(load(s.h2[0] + c));
    store(s.dz2[0] + c, d);
    store(g + B2 + c, d);
  }
  backward_h2(s, p);
  backward_h1<Act>(s);
}

}  // namespace lecun1989
