// One training epoch of one seed as an XLA FFI custom call: batch-1 steps over the epoch's digits,
// each a forward pass, the loss's gradient, backward, and the optimizer's update. Single-threaded
// and free of allocation inside the loop, so a seed's bits depend only on its inputs. The Python
// side (engine.py) draws the shifts and dropout masks and the per-step optimizer scalars.
#include <cstdint>
#include <memory>

#include "backward.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using F32x1 = ffi::Buffer<ffi::F32, 1>;  // aliases: a comma inside the handler macro splits its arguments
using F32x2 = ffi::Buffer<ffi::F32, 2>;
using F32x3 = ffi::Buffer<ffi::F32, 3>;
using S32x1 = ffi::Buffer<ffi::S32, 1>;
using PREDx3 = ffi::Buffer<ffi::PRED, 3>;

namespace lecun1989 {

enum Activation { TANH = 0, RELU = 1, SCALED_TANH = 2 };  // also the heads' codes (RELU: linear)
enum Loss { MSE = 0, SOFTMAX_XENT = 1 };
enum Optimizer { SGD = 0, ADAMW = 1, SCALED_SGD = 2 };  // SCALED_SGD: a per-weight step array
constexpr int LINEAR = 1;

struct Hyper {
  int head, loss;
  float keep_prob, b1, b2, c1, c2, eps, weight_decay;  // c1 = 1 - b1, rounded once, like optax's
};

// The gradient of the loss with respect to the output units' total inputs, into s.dz4.
inline void output_gradient(Work& s, const Hyper& h, int label) {
  V z[2] = {load(s.out), load(s.out + 8)}, o[2], dodz[2];
  for (int i = 0; i < 2; i++) {
    if (h.head == TANH) {
      o[i] = tanh(z[i]);
      dodz[i] = Tanh::df(o[i]);
    } else if (h.head == SCALED_TANH) {
      o[i] = ScaledTanh::f(z[i]);
      dodz[i] = ScaledTanh::df(o[i]);
    } else {
      o[i] = z[i];
      dodz[i] = splat(1.0f);
    }
  }
  float out[16], dout[10];
  store(out, o[0]);
  store(out + 8, o[1]);
  if (h.loss == MSE) {  // mean over the 10 outputs of (out - target)^2, targets +-1
    for (int i = 0; i < 10; i++) dout[i] = 2.0f * (out[i] - (i == label ? 1.0f : -1.0f)) / 10.0f;
  } else {  // softmax cross-entropy: softmax(out) - one_hot(label)
    float top = out[0], total = 0.0f;
    for (int i = 1; i < 10; i++) top = out[i] > top ? out[i] : top;
    for (int i = 0; i < 10; i++) total += dout[i] = std::exp(out[i] - top);
    for (int i = 0; i < 10; i++) dout[i] = dout[i] / total - (i == label ? 1.0f : 0.0f);
  }
  float d[16];
  store(d, dodz[0]);
  store(d + 8, dodz[1]);
  for (int i = 0; i < 16; i++) s.dz4[i] = i < 10 ? dout[i] * d[i] : 0.0f;
}

// The update of parameters [begin, end), with optax's semantics: sgd p - lr g; adamw (optax.adamw)
// with the bias corrections bc1, bc2 = 1 - b^count given per step; SCALED_SGD p - lr scale g, with a
// step scale per weight.
template <int O>
void update(float* p, float* state, const float* g, const float* step, const Hyper& h, int begin, int end) {
  const float lr = step[0];
  if constexpr (O == SGD) {
    for (int i = begin; i < end; i++) p[i] += g[i] * -lr;
  } else if constexpr (O == SCALED_SGD) {
    const float* scale = state;
    for (int i = begin; i < end; i++) p[i] += g[i] * scale[i] * -lr;
  } else {
    float *mu = state, *nu = state + N_PARAMS;
    const float bc1 = step[1], bc2 = step[2];
    for (int i = begin; i < end; i++) {
      mu[i] = h.c1 * g[i] + h.b1 * mu[i];
      nu[i] = h.c2 * (g[i] * g[i]) + h.b2 * nu[i];
      float u = (mu[i] / bc1) / (std::sqrt(nu[i] / bc2) + h.eps);
      p[i] += (u + h.weight_decay * p[i]) * -lr;
    }
  }
}

struct Epoch {
  int n, max_shift;
  const float* x;      // (n, 16, 16)
  const int32_t* y;    // (n,)
  const int32_t* shift;  // (n,) index into fastnet.shifts(max_shift)
  const bool* keep;    // (n, 12, 16) or null
  const float* steps;  // (n, 3): lr, bc1, bc2
  float *params, *state;
};

template <class Act, int O>
void run(const Epoch& e, const Hyper& h) {
  auto s = std::make_unique<Work>();
  init_work(*s);
  const int side = 2 * e.max_shift + 1;
  for (int i = 0; i < e.n; i++) {
    const bool* keep = e.keep ? e.keep + i * 192 : nullptr;
    load_input(*s, e.x + i * 256, e.shift[i] / side - e.max_shift, e.shift[i] % side - e.max_shift);
    forward_h1<Act>(*s, e.params);
    h2_patches(*s);
    forward_h2<Act>(*s, e.params);
    dropout(*s, keep, h.keep_prob);
    forward_h3_out<Act>(*s, e.params);
    output_gradient(*s, h, e.y[i]);
    const float* step = e.steps + 3 * i;
    backward<Act>(*s, e.params, keep, h.keep_prob, [&](int begin, int end) { update<O>(e.params, e.state, s->grad, step, h, begin, end); });
  }
}

template <class Act>
void run_optimizer(int optimizer, const Epoch& e, const Hyper& h) {
  if (optimizer == SGD) run<Act, SGD>(e, h);
  if (optimizer == ADAMW) run<Act, ADAMW>(e, h);
  if (optimizer == SCALED_SGD) run<Act, SCALED_SGD>(e, h);
}

constexpr int64_t STATE_ROWS[] = {0, 2, 1};  // per-weight state arrays of each optimizer

ffi::Error train_epoch(F32x3 x, S32x1 y, S32x1 shift, PREDx3 keep, F32x2 steps, F32x1 params, F32x2 state,
                       ffi::Result<F32x1> params_out, ffi::Result<F32x2> state_out, int32_t activation, int32_t head, int32_t loss,
                       int32_t optimizer, int32_t max_shift, float keep_prob, double b1, double b2, double eps,
                       double weight_decay) {
  const int64_t n = y.dimensions()[0];
  if (x.dimensions()[0] != n || x.dimensions()[1] != 16 || x.dimensions()[2] != 16 || shift.dimensions()[0] != n ||
      steps.dimensions()[0] != n || steps.dimensions()[1] != 3 || params.element_count() != N_PARAMS ||
      (keep.dimensions()[0] != n && keep.dimensions()[0] != 0) || keep.dimensions()[1] != 12 ||
      keep.dimensions()[2] != 16)
    return ffi::Error::InvalidArgument("lecun1989 native epoch: unexpected input shapes");
  if (activation < 0 || activation > 2 || head < 0 || head > 2 || loss < 0 || loss > 1 || optimizer < 0 ||
      optimizer > 2 || max_shift < 0 || max_shift > 7)
    return ffi::Error::InvalidArgument("lecun1989 native epoch: unknown activation, head, loss, optimizer or shift");
  if (state.dimensions()[0] != STATE_ROWS[optimizer] || state.dimensions()[1] != N_PARAMS)
    return ffi::Error::InvalidArgument("lecun1989 native epoch: optimizer state of the wrong shape");
  std::copy_n(params.typed_data(), N_PARAMS, params_out->typed_data());
  std::copy_n(state.typed_data(), state.element_count(), state_out->typed_data());
  Epoch e{static_cast<int>(n),      max_shift,           x.typed_data(),           y.typed_data(),
          shift.typed_data(),       keep.dimensions()[0] ? keep.typed_data() : nullptr,
          steps.typed_data(),       params_out->typed_data(), state_out->typed_data()};
  // Python floats, rounded to float32 where optax's weak-typed arithmetic rounds them.
  Hyper h{head, loss, keep_prob, float(b1), float(b2), float(1.0 - b1), float(1.0 - b2), float(eps), float(weight_decay)};
  if (activation == TANH) run_optimizer<Tanh>(optimizer, e, h);
  if (activation == RELU) run_optimizer<Relu>(optimizer, e, h);
  if (activation == SCALED_TANH) run_optimizer<ScaledTanh>(optimizer, e, h);
  return ffi::Error::Success();
}

}  // namespace lecun1989

XLA_FFI_DEFINE_HANDLER_SYMBOL(lecun1989_train_epoch, lecun1989::train_epoch,
                              ffi::Ffi::Bind()
                                  .Arg<F32x3>()
                                  .Arg<S32x1>()
                                  .Arg<S32x1>()
                                  .Arg<PREDx3>()
                                  .Arg<F32x2>()
                                  .Arg<F32x1>()
                                  .Arg<F32x2>()
                                  .Ret<F32x1>()
                                  .Ret<F32x2>()
                                  .Attr<int32_t>("activation")
                                  .Attr<int32_t>("head")
                                  .Attr<int32_t>("loss")
                                  .Attr<int32_t>("optimizer")
                                  .Attr<int32_t>("max_shift")
                                  .Attr<float>("keep_prob")
                                  .Attr<double>("b1")
                                  .Attr<double>("b2")
                                  .Attr<double>("eps")
                                  .Attr<double>("weight_decay"));
