// One training epoch of one seed as an XLA FFI custom call: batch-1 steps over the epoch's digits,
// each a forward pass, the loss's gradient, and backward with the optimizer's update. Single-threaded
// and free of allocation inside the loop, so a seed's bits depend only on its inputs. The Python
// side (engine.py) draws the shifts and dropout masks and computes the per-step optimizer scalars.
#include <cstdint>
#include <memory>

#include "backward.h"
#include "optimizers.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using F32x1 = ffi::Buffer<ffi::F32, 1>;  // aliases: a comma inside the handler macro splits its arguments
using F32x2 = ffi::Buffer<ffi::F32, 2>;
using F32x3 = ffi::Buffer<ffi::F32, 3>;
using S32x1 = ffi::Buffer<ffi::S32, 1>;
using PREDx3 = ffi::Buffer<ffi::PRED, 3>;

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
    for (int i = 0; i < 10; i++) total += dout[i] = std::exp(out[i] - top);
    for (int i = 0; i < 10; i++) dout[i] = dout[i] / total - (i == label ? 1.0f : 0.0f);
  }
  for (int i = 0; i < 16; i++) s.dz4[i] = i < 10 ? dout[i] * dodz[i] : 0.0f;
}

struct Epoch {
  int n, max_shift, head, loss;
  float keep_prob;
  const float* x;        // (n, 16, 16)
  const int32_t* y;      // (n,)
  const int32_t* shift;  // (n,) index into fastnet.shifts(max_shift)
  const bool* keep;      // (n, 12, 16) or null
  const float* steps;    // (n, 3): lr, bc1, bc2
  float *params, *state;
  Hyper hyper;
};

template <class Act, int O>
void run(const Epoch& e) {
  auto s = std::make_unique<Work>();
  init_work(*s);
  const int side = 2 * e.max_shift + 1;
  for (int i = 0; i < e.n; i++) {
    const bool* keep = e.keep ? e.keep + i * 192 : nullptr;
    load_input(*s, e.x + i * 256, e.shift[i] / side - e.max_shift, e.shift[i] % side - e.max_shift);
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

ffi::Error train_epoch(F32x3 x, S32x1 y, S32x1 shift, PREDx3 keep, F32x2 steps, F32x1 params, F32x2 state,
                       ffi::Result<F32x1> params_out, ffi::Result<F32x2> state_out, int32_t activation, int32_t head,
                       int32_t loss, int32_t optimizer, int32_t max_shift, float keep_prob, double b1, double b2,
                       double eps, double weight_decay) {
  const int64_t n = y.dimensions()[0];
  auto dims = [](const auto& buffer, std::initializer_list<int64_t> want) {
    auto d = buffer.dimensions();
    return std::equal(d.begin(), d.end(), want.begin(), want.end());
  };
  if (!dims(x, {n, 16, 16}) || !dims(shift, {n}) || !dims(steps, {n, 3}) || !dims(params, {N_PARAMS}) ||
      !(dims(keep, {n, 12, 16}) || dims(keep, {0, 12, 16})))
    return ffi::Error::InvalidArgument("lecun1989 native epoch: inputs of unexpected shapes");
  if (activation < 0 || activation >= N_ACTIVATION_CODES || head < 0 || head >= N_HEAD_CODES || loss < 0 || loss >= N_LOSS_CODES || optimizer < 0 ||
      optimizer >= N_OPTIMIZER_CODES || max_shift < 0 || max_shift > MAX_SHIFT)
    return ffi::Error::InvalidArgument("lecun1989 native epoch: unknown activation, head, loss, optimizer or shift");
  if (!dims(state, {STATE_ROWS[optimizer], N_PARAMS}))
    return ffi::Error::InvalidArgument("lecun1989 native epoch: optimizer state of the wrong shape");
  std::copy_n(params.typed_data(), N_PARAMS, params_out->typed_data());
  std::copy_n(state.typed_data(), state.element_count(), state_out->typed_data());
  // b1 etc. are Python floats: rounded to float32 where optax's weak-typed arithmetic rounds them.
  Hyper hyper{float(b1), float(b2), float(1.0 - b1), float(1.0 - b2), float(eps), float(weight_decay)};
  Epoch e{int(n), max_shift, head, loss, keep_prob, x.typed_data(), y.typed_data(), shift.typed_data(),
          keep.dimensions()[0] ? keep.typed_data() : nullptr, steps.typed_data(), params_out->typed_data(),
          state_out->typed_data(), hyper};
  if (activation == TANH) run_optimizer<Tanh>(optimizer, e);
  if (activation == RELU) run_optimizer<Relu>(optimizer, e);
  if (activation == SCALED_TANH) run_optimizer<ScaledTanh>(optimizer, e);
  return ffi::Error::Success();
}

}  // namespace lecun1989

XLA_FFI_DEFINE_HANDLER_SYMBOL(lecun1989_train_epoch, lecun1989::train_epoch,
                              ffi::Ffi::Bind()
                                  .Arg<F32x3>()   // x
                                  .Arg<S32x1>()   // y
                                  .Arg<S32x1>()   // shift
                                  .Arg<PREDx3>()  // keep
                                  .Arg<F32x2>()   // steps
                                  .Arg<F32x1>()   // params
                                  .Arg<F32x2>()   // state
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
