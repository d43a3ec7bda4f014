// Each training step's random choices, drawn inside the native epoch bit for bit as engine.draws and
// engine.epoch_draws draw them in JAX (0.10, threefry2x32 keys, jax_threefry_partitionable on):
//
//   shift_key, dropout_key = split(fold_in(key, step))
//   dx, dy = randint(shift_key, (2,), -max_shift, max_shift + 1)
//   keep = bernoulli(dropout_key, keep_prob, (16, 12))          (position, map)
//
// With partitionable threefry, element i of split(k, n) and of random_bits(k, 32, shape) both hash
// the 64-bit counter i (as its high and low words) with k: the former keeps the hash's two words as
// a key, the latter XORs them. fold_in(k, d) hashes the counter d the same way (its seed's words are
// 0 and d). test_native_draws.py holds these to jax.random.
#pragma once

#include <cstdint>
#include <cstring>

namespace lecun1989::draws {

struct Key {
  uint32_t k0, k1;
};

template <class U>
U rotate_left(U x, int r) {
  return (x << r) | (x >> (32 - r));
}

// Threefry-2x32 with 20 rounds (JAX's _threefry2x32_lowering) on the counter (x0, x1), in place. U is
// uint32_t or a vector of them (one counter per lane, one key for all).
template <class U>
void threefry2x32(Key key, U& x0, U& x1) {
  constexpr int ROTATIONS[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
  const uint32_t ks[3] = {key.k0, key.k1, key.k0 ^ key.k1 ^ 0x1BD11BDAu};
  x0 += ks[0];
  x1 += ks[1];
  for (int i = 0; i < 5; i++) {
    for (int r : ROTATIONS[i % 2]) {
      x0 += x1;
      x1 = rotate_left(x1, r);
      x1 ^= x0;
    }
    x0 += ks[(i + 1) % 3];
    x1 += ks[(i + 2) % 3] + uint32_t(i + 1);
  }
}

inline Key hash(Key key, uint32_t counter) {  // the counter's high word is 0 here
  uint32_t x0 = 0, x1 = counter;
  threefry2x32(key, x0, x1);
  return {x0, x1};
}

inline Key fold_in(Key key, uint32_t data) { return hash(key, data); }
inline Key split(Key key, uint32_t i) { return hash(key, i); }  // element i of jax.random.split(key, n)

inline uint32_t bits(Key key, uint32_t i) {  // element i of random_bits(key, 32, shape), row-major
  Key h = hash(key, i);
  return h.k0 ^ h.k1;
}

// Element i of jax.random.randint(key, shape, lo, hi) in int32, hi > lo: two 32-bit draws, the
// higher-order one times 2^32 mod span, reduced modulo the span.
inline int32_t randint(Key key, uint32_t i, int32_t lo, int32_t hi) {
  const uint32_t span = uint32_t(hi - lo);
  uint32_t multiplier = (1u << 16) % span;
  multiplier = multiplier * multiplier % span;
  const uint32_t higher = bits(split(key, 0), i), lower = bits(split(key, 1), i);
  return lo + int32_t((higher % span * multiplier + lower % span) % span);
}

// jax.random.uniform's float32 in [0, 1) from 32 random bits: 23 of them as the mantissa of [1, 2).
template <class U, class F>
F unit_float(U bits) {
  U one_to_two = (bits >> 9) | 0x3F800000u;
  F f;
  std::memcpy(&f, &one_to_two, sizeof f);
  return f - 1.0f;
}

struct StepDraws {
  int dx, dy;  // the roll of the digit (jnp.roll's shifts along rows and columns)
  Key dropout;
};

inline StepDraws step_draws(Key run, uint32_t step, int max_shift) {
  const Key k = fold_in(run, step);
  const Key shift = split(k, 0);
  return {randint(shift, 0, -max_shift, max_shift + 1), randint(shift, 1, -max_shift, max_shift + 1), split(k, 1)};
}

// keep[m * 16 + p] = uniform(key, (16, 12))[p][m] < keep_prob (bernoulli's test; the native layout is
// (map, position)), 8 positions of one map at a time: 24 vector hashes instead of 192 scalar ones.
inline void keep_mask(Key key, float keep_prob, bool keep[192]) {
  typedef uint32_t U8 __attribute__((vector_size(32)));
  typedef float F8 __attribute__((vector_size(32)));
  const U8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int m = 0; m < 12; m++)
    for (int p0 = 0; p0 < 16; p0 += 8) {
      U8 x0 = {}, x1 = (lane + uint32_t(p0)) * 12u + uint32_t(m);
      threefry2x32(key, x0, x1);
      auto kept = unit_float<U8, F8>(x0 ^ x1) < keep_prob;
      for (int j = 0; j < 8; j++) keep[m * 16 + p0 + j] = kept[j] != 0;
    }
}

}  // namespace lecun1989::draws
