// One training epoch of one seed: batch-1 steps over the epoch's digits, each a forward pass, the
// loss's gradient, and backward with the optimizer's update. Single-threaded and free of allocation
// inside the loop, so a seed's bits depend only on its inputs. epoch.cc calls it from XLA; driver.cc,
// a standalone program without XLA, calls it to check those bits on other compilers and CPUs.
#pragma once

#include <cstdint>
#include <memory>

#include "backward.h"
#include "draws.h"
#include "optimizers.h"

namespace lecun1989 {

constexpr int64_t STATE_ROWS[] = {0, 2, 1};  // per-weight state arrays of SGD, ADAMW, SCALED_SGD

// The gradient of the loss with respect to the output units' total inputs, into s.dz4.
inline void output_gradient(Work& s, int head, int loss, int label) {
  float out[16], dodz[16], dout[10];
  for (int i = 0; i < 16; i += W) {
    V z = load(s.out + i), o = z, d = splat(1.0f);  // a linear head
    if (head == HEAD_TANH) o = tanh(z), d = Tanh::df(o);
    if (head == HEAD_SCALED_TANH) o = ScaledTanh::f(z), d = ScaledTanh::df(o);
    store(out + i, o);
    store(dodz + i, d);
  }
  if (loss == MSE) {  // mean over the 10 outputs of (out - target)^2, targets +-1
    for (int i = 0; i < 10; i++) dout[i] = 2.0f * (out[i] - (i == label ? 1.0f : -1.0f)) / 10.0f;
  } else {  // softmax cross-entropy: softmax(out) - one_hot(label)
    float top = out[0], total = 0.0f;
    for (int i = 1; i < 10; i++) top = out[i] > top ? out[i] : top;
    for (int i = 0; i < 10; i++) total += dout[i] = exp(out[i] - top);
    for (int i = 0; i < 10; i++) dout[i] = dout[i] / total - (i == label ? 1.0f : 0.0f);
  }
  for (int i = 0; i < 16; i++) s.dz4[i] = i < 10 ? dout[i] * dodz[i] : 0.0f;
}

struct Epoch {
  int n, max_shift, head, loss;
  bool dropout;
  float keep_prob;
  draws::Key key;       // the run's
  uint32_t first_step;  // the run's step count at the epoch's first digit
  const float* x;       // (n, 16, 16)
  const int32_t* y;     // (n,)
  const float* steps;   // (n, 3): lr, bc1, bc2
  float *params, *state;
  Hyper hyper;
};

template <class Act, int O>
void run(const Epoch& e) {
  auto s = std::make_unique<Work>();
  init_work(*s);
  bool mask[192];
  const bool* keep = e.dropout ? mask : nullptr;
  draws::StepDraws drawn[16] = {};  // steps i - i % 16 ... i - i % 16 + 15; all 0 without shifts and dropout
  for (int i = 0; i < e.n; i++) {
    if (i % 16 == 0 && (e.max_shift || e.dropout)) draws::step_draws(e.key, e.first_step + uint32_t(i), e.max_shift, drawn);
    const draws::StepDraws& d = drawn[i % 16];
    if (e.dropout) draws::keep_mask(d.dropout, e.keep_prob, mask);
    load_input(*s, e.x + i * 256, d.dx, d.dy);
    forward_h1<Act>(*s, e.params);
    h2_patches(*s);
    forward_h2<Act>(*s, e.params);
    dropout(*s, keep, e.keep_prob);
    forward_h3_out<Act>(*s, e.params);
    output_gradient(*s, e.head, e.loss, e.y[i]);
    backward<Act>(*s, e.params, keep, e.keep_prob, make_update<O>(e.params, e.state, N_PARAMS, e.steps + 3 * i, e.hyper));
  }
}

template <class Act>
void run_optimizer(int optimizer, const Epoch& e) {
  if (optimizer == SGD) run<Act, SGD>(e);
  if (optimizer == ADAMW) run<Act, ADAMW>(e);
  if (optimizer == SCALED_SGD) run<Act, SCALED_SGD>(e);
}

// b1 etc. are Python floats: rounded to float32 where optax's weak-typed arithmetic rounds them.
inline Hyper make_hyper(double b1, double b2, double eps, double weight_decay) {
  return Hyper{float(b1), float(b2), float(1.0 - b1), float(1.0 - b2), float(eps), float(weight_decay)};
}

inline void run_epoch(int activation, int optimizer, const Epoch& e) {
  FlushDenormals flush;
  if (activation == TANH) run_optimizer<Tanh>(optimizer, e);
  if (activation == RELU) run_optimizer<Relu>(optimizer, e);
  if (activation == SCALED_TANH) run_optimizer<ScaledTanh>(optimizer, e);
}

}  // namespace lecun1989
