// Evaluation's forward pass on eight digits at once, one digit per lane of a V. Each lane performs
// exactly the float operations net.h's forward pass performs on its digit (the same multiply-adds
// in the same order, the same sums in the same tree, the same padding), so the outputs are net.h's
// bit for bit (tests/test_native_predict.py holds the two together); what changes is that every
// operation is a full-width vector operation on a weight broadcast to all lanes, with no patch
// shuffles and no horizontal sums.
#pragma once

#include "net.h"

namespace lecun1989 {

struct alignas(64) Work8 {
  V x[20][20];   // the inputs padded to 20x20 (row, column)
  V h1[65][12];  // H1 after its activation (position, map); position 64 is the padding
  V h2[192];     // H2 after its activation (map, position), as net.h's h2 and h2d
  V h3[32];      // H3; units 30, 31 are 0 (net.h's padding)
};

// Where each H2 output position reads H1 for each kernel offset: a position 0..63, or 64 (padding).
struct H2Sources {
  int at[16][25];
  constexpr H2Sources() : at() {
    for (int q = 0; q < 16; q++)
      for (int k = 0; k < 25; k++) {
        int r = 2 * (q / 4) + k / 5 - 2, c = 2 * (q % 4) + k % 5 - 2;  // in H1, whose padding is 2 wide
        at[q][k] = r >= 0 && r < 8 && c >= 0 && c < 8 ? r * 8 + c : 64;
      }
  }
};
constexpr H2Sources H2_SOURCES;

// net.h's dot8 lane by lane: eight running sums over the chunks of W floats, then sum8's tree.
inline V tree8(const V (&a)[8]) { return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])); }

// x: n_lanes digits (16x16 each) of which lane l takes x + l * 256; lanes past n_lanes take digit 0.
inline void load_inputs8(Work8& s, const float* x, int n_lanes) {
  for (int r = 0; r < 20; r++)
    for (int c = 0; c < 20; c++) s.x[r][c] = splat(PAD);
  for (int l = 0; l < W; l++) {
    const float* digit = x + (l < n_lanes ? l : 0) * 256;
    for (int r = 0; r < 16; r++)
      for (int c = 0; c < 16; c++) s.x[r + 2][c + 2][l] = digit[r * 16 + c];
  }
}

template <class Act>
void forward8_h1(Work8& s, const float* p) {
  for (int m0 = 0; m0 < 12; m0 += 6)    // 6 maps x 2 positions: 12 accumulators
    for (int q = 0; q < 64; q += 2) {   // positions q, q + 1: the same row
      int oy = q / 8, ox = q % 8;
      V acc[6][2];
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 2; j++) acc[i][j] = splat(p[B1 + (m0 + i) * 64 + q + j]);
      for (int k = 0; k < 25; k++) {
        int ky = k / 5, kx = k % 5;
        V x0 = s.x[2 * oy + ky][2 * ox + kx], x1 = s.x[2 * oy + ky][2 * ox + 2 + kx];
        for (int i = 0; i < 6; i++) {
          float w = p[W1 + (m0 + i) * W1_ROW + k];
          acc[i][0] = fma(w, x0, acc[i][0]);
          acc[i][1] = fma(w, x1, acc[i][1]);
        }
      }
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 2; j++) s.h1[q + j][m0 + i] = Act::f(acc[i][j]);
    }
  for (int m = 0; m < 12; m++) s.h1[64][m] = splat(PAD);
}

template <class Act>
void forward8_h2(Work8& s, const float* p) {
  for (int g = 0; g < 3; g++)
    for (int q = 0; q < 16; q += 2) {  // 4 output maps x 2 positions: 8 accumulators
      V acc[4][2];
      for (int o = 0; o < 4; o++)
        for (int j = 0; j < 2; j++) acc[o][j] = splat(p[B2 + (4 * g + o) * 16 + q + j]);
      for (int k = 0; k < 25; k++) {
        const V *a = s.h1[H2_SOURCES.at[q][k]], *b = s.h1[H2_SOURCES.at[q + 1][k]];
        for (int j = 0; j < 8; j++) {
          const float* w = p + W2 + ((g * 25 + k) * 8 + j) * 4;
          V x0 = a[H2_MAPS[g][j]], x1 = b[H2_MAPS[g][j]];
          for (int o = 0; o < 4; o++) {
            acc[o][0] = fma(w[o], x0, acc[o][0]);
            acc[o][1] = fma(w[o], x1, acc[o][1]);
          }
        }
      }
      for (int o = 0; o < 4; o++)
        for (int j = 0; j < 2; j++) s.h2[(4 * g + o) * 16 + q + j] = Act::f(acc[o][j]);
    }
}

// Unit u of a dense layer: net.h's dot8 of weight row w (n inputs) with v, lane by lane.
inline V dense8(const float* w, const V* v, int n) {
  V acc[8] = {};
  for (int c = 0; c < n; c += W)
    for (int i = 0; i < 8; i++) acc[i] = fma(w[c + i], v[c + i], acc[i]);
  return tree8(acc);
}

// The 10 outputs (the head applied) of each lane, into out[10].
template <class Act>
void forward8(Work8& s, const float* p, int head, V (&out)[10]) {
  forward8_h1<Act>(s, p);
  forward8_h2<Act>(s, p);
  for (int u = 0; u < 30; u++) s.h3[u] = Act::f(dense8(p + W3 + u * 192, s.h2, 192) + p[B3 + u]);
  s.h3[30] = s.h3[31] = V{};
  for (int i = 0; i < 10; i++) {
    V z = dense8(p + W4 + i * W4_ROW, s.h3, 32) + p[B4 + i];
    out[i] = head == HEAD_TANH ? tanh(z) : head == HEAD_SCALED_TANH ? ScaledTanh::f(z) : z;
  }
}

}  // namespace lecun1989
