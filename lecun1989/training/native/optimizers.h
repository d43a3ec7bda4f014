// The optimizers' updates, with optax's semantics, applied 8 parameters at a time as soon as their
// gradient is known (backward.h): u(i, g) updates parameters [i, i + 8) given their gradient g.
// One object per step holds that step's scalars; an optimizer with a per-weight step size (SDLM)
// is ScaledSgd with its step sizes as the state array.
#pragma once

#include "codes.h"
#include "simd.h"

namespace lecun1989 {


struct Hyper {  // Python floats rounded to float32 where optax's weak-typed arithmetic rounds them
  float b1, b2, c1, c2, eps, weight_decay;  // c1 = 1 - b1, computed in double like optax's (1 - b1)
};

struct Sgd {  // optax.sgd: p + g * -lr
  float* p;
  float lr;
  void operator()(int i, V g) const { store(p + i, load(p + i) + g * -lr); }
};

struct ScaledSgd {  // p + g * scale * -lr, scale per weight
  float* p;
  const float* scale;
  float lr;
  void operator()(int i, V g) const { store(p + i, load(p + i) + g * load(scale + i) * -lr); }
};

struct AdamW {  // optax.adamw: bias-corrected moments, eps outside the root, decoupled weight decay
  float *p, *mu, *nu;
  float lr, r1, r2;  // 1 / (1 - b^count), count after this step's increment
  Hyper h;
  void operator()(int i, V g) const {
    V m = h.c1 * g + h.b1 * load(mu + i), v = h.c2 * (g * g) + h.b2 * load(nu + i);
    store(mu + i, m);
    store(nu + i, v);
    // optax divides by the bias corrections; multiplying by their inverses (one rounding more)
    // leaves a single division per weight, which is most of this update's cost.
    V u = (m * r1) / (vsqrt(v * r2) + h.eps), w = load(p + i);
    store(p + i, w + (u + h.weight_decay * w) * -lr);
  }
};

// The update of one step: step = (lr, bc1, bc2); state = the optimizer's per-weight arrays.
template <int O>
auto make_update(float* p, float* state, int n_params, const float* step, const Hyper& h) {
  if constexpr (O == SGD) return Sgd{p, step[0]};
  if constexpr (O == SCALED_SGD) return ScaledSgd{p, state, step[0]};
  if constexpr (O == ADAMW) return AdamW{p, state, state + n_params, step[0], 1.0f / step[1], 1.0f / step[2], h};
}

}  // namespace lecun1989
