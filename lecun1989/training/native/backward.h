// The gradient of one step, from s.dz4 (the loss's gradient at the output units' total inputs) down
// to every parameter. No gradient is stored: up(i, g) updates parameters [i, i + 8) as soon as g,
// their gradient, is known and their old values have been read for the last time, so that each
// block is updated while it is still in the L1 cache (optimizers.h).
#pragma once

#include "net.h"

namespace lecun1989 {

template <class Act, class Up>
void backward_top(Work& s, const float* p, const bool* keep, float keep_prob, const Up& up) {
  V h3[4], dh3[4] = {};
  for (int c = 0; c < 4; c++) h3[c] = load(s.h3 + c * W);
  for (int i = 0; i < 10; i++)
    for (int c = 0; c < 4; c++) dh3[c] = fma(s.dz4[i], load(p + W4 + i * W4_ROW + c * W), dh3[c]);
  for (int i = 0; i < 10; i++)  // the output layer; its padding gets gradient 0 (h3's padding is 0)
    for (int c = 0; c < 4; c++) up(W4 + i * W4_ROW + c * W, s.dz4[i] * h3[c]);
  up(B4, load(s.dz4));
  up(B4 + 8, load(s.dz4 + 8));
  for (int c = 0; c < 4; c++) {
    V d = dh3[c] * Act::df(h3[c]);
    store(s.dz3 + c * W, d);
    up(B3 + c * W, d);
  }
  for (int c0 = 0; c0 < 192; c0 += 6 * W) {  // dh2d = w3^T dz3, 6 V at a time
    V acc[6] = {};
    for (int j = 0; j < 30; j++)
      for (int i = 0; i < 6; i++) acc[i] = fma(s.dz3[j], load(p + W3 + j * 192 + c0 + i * W), acc[i]);
    for (int i = 0; i < 6; i++) store(s.dh2d + c0 + i * W, acc[i]);
  }
  for (int j = 0; j < 30; j++)
    for (int c = 0; c < 192; c += W) up(W3 + j * 192 + c, s.dz3[j] * load(s.h2d + c));
  if (keep != nullptr)
    for (int c = 0; c < 192; c += W) store(s.dh2d + c, dropped(load(s.dh2d + c), keep + c, keep_prob));
  for (int c = 0; c < 192; c += W) {
    V d = load(s.dh2d + c) * Act::df(load(s.h2[0] + c));
    store(s.dz2[0] + c, d);
    up(B2 + c, d);
  }
}

// The gradient at the total inputs of H2 group gi's 4 output maps: 16 positions each, as two V.
inline void group_gradient(const Work& s, int gi, V (&d)[4][2]) {
  for (int o = 0; o < 4; o++)
    for (int h = 0; h < 2; h++) d[o][h] = load(s.dz2[4 * gi + o] + 8 * h);
}

template <class Up>
void backward_h2(Work& s, const float* p, const Up& up) {
  // The patches' gradient, while the weights are old: each input map is in two groups; its first
  // group stores, the other adds.
#pragma GCC unroll 3
  for (int gi = 0; gi < 3; gi++) {
    V d[4][2];
    group_gradient(s, gi, d);
    for (int k = 0; k < 25; k++)
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) {
        int m = H2_MAPS[gi][j];
        const float* w = p + W2 + ((gi * 25 + k) * 8 + j) * 4;
        V a0 = fma(w[3], d[3][0], fma(w[2], d[2][0], fma(w[1], d[1][0], w[0] * d[0][0])));
        V a1 = fma(w[3], d[3][1], fma(w[2], d[2][1], fma(w[1], d[1][1], w[0] * d[0][1])));
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
  // The weights' gradient: two patch rows x 4 output maps = 8 dot products of length 16, summed
  // together into one V, which is 8 consecutive weights of this layout.
#pragma GCC unroll 3
  for (int gi = 0; gi < 3; gi++) {
    V d[4][2];
    group_gradient(s, gi, d);
    for (int k = 0; k < 25; k++)
#pragma GCC unroll 4
      for (int j = 0; j < 8; j += 2) {
        V a[8];
        for (int jj = 0; jj < 2; jj++) {
          const float* row = s.p2[k * 12 + H2_MAPS[gi][j + jj]];
          V r0 = load(row), r1 = load(row + 8);
          for (int o = 0; o < 4; o++) a[4 * jj + o] = fma(d[o][1], r1, d[o][0] * r0);
        }
        up(W2 + ((gi * 25 + k) * 8 + j) * 4, sum8(a));
      }
  }
}

// The patches' gradient summed back onto H1 (the inverse of h2_patches), then H1's own gradients.
template <class Act, class Up>
void backward_h1(Work& s, const Up& up) {
  fill(s.dh1p, 0.0f);
  for (int k = 0; k < 25; k++) {
    int ky = k / 5, kx = k % 5;
    for (int m = 0; m < 12; m++) {
      const float* src = s.dp2[k * 12 + m];
      float* dst = s.dh1p[m][kx & 1][ky] + (kx >> 1);
      for (int qy = 0; qy < 4; qy++) store4(dst + 2 * qy * 8, load4(dst + 2 * qy * 8) + load4(src + qy * 4));
    }
  }
  for (int m = 0; m < 12; m++)
    for (int y = 0; y < 8; y++) {
      V4 e = load4(s.dh1p[m][0][y + 2] + 1), o = load4(s.dh1p[m][1][y + 2] + 1);
      V d = __builtin_shufflevector(e, o, 0, 4, 1, 5, 2, 6, 3, 7) * Act::df(load(s.h1[m] + y * 8));
      store(s.dz1[m] + y * 8, d);
      up(B1 + m * 64 + y * 8, d);
    }
  for (int m = 0; m < 12; m++) {
#pragma GCC unroll 3
    for (int k0 = 0; k0 < 24; k0 += 8) {  // 8 kernel offsets at a time, then the 25th
      V a[8] = {};
      for (int y = 0; y < 8; y++) {
        V d = load(s.dz1[m] + y * 8);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) a[i] = fma(d, h1_patch(s, k0 + i, y), a[i]);
      }
      up(W1 + m * W1_ROW + k0, sum8(a));
    }
    V a = {};
    for (int y = 0; y < 8; y++) a = fma(load(s.dz1[m] + y * 8), h1_patch(s, 24, y), a);
    up(W1 + m * W1_ROW + 24, V{sum(a)});  // and 0 for the row's padding
  }
}

template <class Act, class Up>
void backward(Work& s, const float* p, const bool* keep, float keep_prob, const Up& up) {
  backward_top<Act>(s, p, keep, keep_prob, up);
  backward_h2(s, p, up);
  backward_h1<Act>(s, up);
}

}  // namespace lecun1989
