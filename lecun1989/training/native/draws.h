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
// 0 and d). Every function below works on one uint32_t or on a vector of them, one lane per draw:
// 16 steps' shifts at a time, a mask's 16 positions at a time. test_native_draws.py holds them to
// jax.random.
#pragma once

#include <cstdint>
#include <cstring>

namespace lecun1989::draws {

typedef uint32_t U16 __attribute__((vector_size(64)));
typedef float F16 __attribute__((vector_size(64)));
constexpr U16 LANES = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

#define LECUN1989_INLINE inline __attribute__((always_inline))  // GCC kept the rounds out of line

template <class U>
struct KeyOf {
  U k0, k1;
};
using Key = KeyOf<uint32_t>;

// One round of Threefry: x1 rotated left by R bits.
template <int R, class U>
LECUN1989_INLINE void mix(U& x0, U& x1) {
  x0 += x1;
  x1 = (x1 << R) | (x1 >> (32 - R));
  x1 ^= x0;
}

template <class U>
LECUN1989_INLINE void rounds_a(U& x0, U& x1) {
  mix<13>(x0, x1), mix<15>(x0, x1), mix<26>(x0, x1), mix<6>(x0, x1);
}

template <class U>
LECUN1989_INLINE void rounds_b(U& x0, U& x1) {
  mix<17>(x0, x1), mix<29>(x0, x1), mix<16>(x0, x1), mix<24>(x0, x1);
}

// Threefry-2x32 with 20 rounds (JAX's _threefry2x32_lowering, unrolled) of the key on the counter
// (x0, x1), in place. K is U, or uint32_t for one key in every lane.
template <class K, class U>
LECUN1989_INLINE void threefry2x32(KeyOf<K> key, U& x0, U& x1) {
  const K k0 = key.k0, k1 = key.k1, k2 = key.k0 ^ key.k1 ^ 0x1BD11BDAu;
  x0 += k0, x1 += k1;
  rounds_a(x0, x1);
  x0 += k1, x1 += k2 + 1u;
  rounds_b(x0, x1);
  x0 += k2, x1 += k0 + 2u;
  rounds_a(x0, x1);
  x0 += k0, x1 += k1 + 3u;
  rounds_b(x0, x1);
  x0 += k1, x1 += k2 + 4u;
  rounds_a(x0, x1);
  x0 += k2, x1 += k0 + 5u;
}

template <class K, class U>
KeyOf<U> hash(KeyOf<K> key, U counter) {  // the counter's high word is 0 here
  U x0 = counter - counter, x1 = counter;
  threefry2x32(key, x0, x1);
  return {x0, x1};
}

template <class K, class U>
KeyOf<U> fold_in(KeyOf<K> key, U data) {
  return hash(key, data);
}

template <class U>
KeyOf<U> split(KeyOf<U> key, uint32_t i) {  // element i of jax.random.split(key, n)
  return hash(key, key.k0 - key.k0 + i);
}

template <class K, class U>
U bits(KeyOf<K> key, U i) {  // element i of random_bits(key, 32, shape), row-major
  KeyOf<U> h = hash(key, i);
  return h.k0 ^ h.k1;
}

// Element i of jax.random.randint(key, shape, lo, lo + span) minus lo (int32): two 32-bit draws,
// the higher-order one times 2^32 mod span, reduced modulo the span.
template <class U>
U randint_offset(KeyOf<U> key, uint32_t i, uint32_t span) {
  uint32_t multiplier = (1u << 16) % span;
  multiplier = multiplier * multiplier % span;
  const U at = key.k0 - key.k0 + i, higher = bits(split(key, 0), at), lower = bits(split(key, 1), at);
  return (higher % span * multiplier + lower % span) % span;
}

struct StepDraws {
  int dx, dy;  // the roll of the digit (jnp.roll's shifts along rows and columns)
  Key dropout;
};

// The draws of the 16 steps first .. first + 15 of a run.
inline void step_draws(Key run, uint32_t first, int max_shift, StepDraws out[16]) {
  const KeyOf<U16> k = fold_in(run, first + LANES), shift = split(k, 0), dropout = split(k, 1);
  U16 dx = {}, dy = {};
  if (max_shift > 0) {  // else the span is 1 and randint is lo, 0
    const uint32_t span = 2 * max_shift + 1;
    dx = randint_offset(shift, 0, span) - uint32_t(max_shift), dy = randint_offset(shift, 1, span) - uint32_t(max_shift);
  }
  for (int j = 0; j < 16; j++) out[j] = {int32_t(dx[j]), int32_t(dy[j]), {dropout.k0[j], dropout.k1[j]}};
}

// jax.random.uniform's float32 in [0, 1) from 32 random bits: 23 of them as the mantissa of [1, 2).
inline F16 unit_float(U16 bits) {
  U16 one_to_two = (bits >> 9) | 0x3F800000u;
  F16 f;
  std::memcpy(&f, &one_to_two, sizeof f);
  return f - 1.0f;
}

// keep[m * 16 + p] = uniform(key, (16, 12))[p][m] < keep_prob (bernoulli's test; the native layout
// is (map, position)): one map's 16 positions, counters p * 12 + m, at a time.
inline void keep_mask(Key key, float keep_prob, bool keep[192]) {
  for (int m = 0; m < 12; m++) {
    auto kept = unit_float(bits(key, LANES * 12u + uint32_t(m))) < keep_prob;
    for (int p = 0; p < 16; p++) keep[m * 16 + p] = kept[p] != 0;
  }
}

}  // namespace lecun1989::draws
