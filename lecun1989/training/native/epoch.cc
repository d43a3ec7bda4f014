// One training epoch of one seed (epoch.h) as an XLA FFI custom call. Each step's shift and dropout
// mask are drawn in the kernel from the run's key as JAX draws them (draws.h); the Python side
// (engine.py) computes the per-step optimizer scalars.
#include <cstdint>

#include "epoch.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using F32x1 = ffi::Buffer<ffi::F32, 1>;  // aliases: a comma inside the handler macro splits its arguments
using F32x2 = ffi::Buffer<ffi::F32, 2>;
using F32x3 = ffi::Buffer<ffi::F32, 3>;
using S32x0 = ffi::Buffer<ffi::S32, 0>;
using S32x1 = ffi::Buffer<ffi::S32, 1>;
using U32x1 = ffi::Buffer<ffi::U32, 1>;

namespace lecun1989 {

ffi::Error train_epoch(F32x3 x, S32x1 y, U32x1 key, S32x0 first_step, F32x2 steps, F32x1 params, F32x2 state,
                       ffi::Result<F32x1> params_out, ffi::Result<F32x2> state_out, int32_t activation, int32_t head,
                       int32_t loss, int32_t optimizer, int32_t max_shift, int32_t dropout, float keep_prob, double b1,
                       double b2, double eps, double weight_decay) {
  const int64_t n = y.dimensions()[0];
  auto dims = [](const auto& buffer, std::initializer_list<int64_t> want) {
    auto d = buffer.dimensions();
    return std::equal(d.begin(), d.end(), want.begin(), want.end());
  };
  if (!dims(x, {n, 16, 16}) || !dims(key, {2}) || !dims(steps, {n, 3}) || !dims(params, {N_PARAMS}))
    return ffi::Error::InvalidArgument("lecun1989 native epoch: inputs of unexpected shapes");
  if (activation < 0 || activation >= N_ACTIVATION_CODES || head < 0 || head >= N_HEAD_CODES || loss < 0 || loss >= N_LOSS_CODES ||
      optimizer < 0 || optimizer >= N_OPTIMIZER_CODES || max_shift < 0 || max_shift > MAX_SHIFT)
    return ffi::Error::InvalidArgument("lecun1989 native epoch: unknown activation, head, loss, optimizer or shift");
  if (!dims(state, {STATE_ROWS[optimizer], N_PARAMS}))
    return ffi::Error::InvalidArgument("lecun1989 native epoch: optimizer state of the wrong shape");
  std::copy_n(params.typed_data(), N_PARAMS, params_out->typed_data());
  std::copy_n(state.typed_data(), state.element_count(), state_out->typed_data());
  const uint32_t* k = key.typed_data();
  Epoch e{int(n),         max_shift,       head, loss, dropout != 0, keep_prob, {k[0], k[1]}, uint32_t(first_step.typed_data()[0]),
          x.typed_data(), y.typed_data(), steps.typed_data(), params_out->typed_data(), state_out->typed_data(),
          make_hyper(b1, b2, eps, weight_decay)};
  run_epoch(activation, optimizer, e);
  return ffi::Error::Success();
}

}  // namespace lecun1989

XLA_FFI_DEFINE_HANDLER_SYMBOL(lecun1989_train_epoch, lecun1989::train_epoch,
                              ffi::Ffi::Bind()
                                  .Arg<F32x3>()  // x
                                  .Arg<S32x1>()  // y
                                  .Arg<U32x1>()  // the run's key
                                  .Arg<S32x0>()  // first_step
                                  .Arg<F32x2>()  // steps
                                  .Arg<F32x1>()  // params
                                  .Arg<F32x2>()  // state
                                  .Ret<F32x1>()
                                  .Ret<F32x2>()
                                  .Attr<int32_t>("activation")
                                  .Attr<int32_t>("head")
                                  .Attr<int32_t>("loss")
                                  .Attr<int32_t>("optimizer")
                                  .Attr<int32_t>("max_shift")
                                  .Attr<int32_t>("dropout")
                                  .Attr<float>("keep_prob")
                                  .Attr<double>("b1")
                                  .Attr<double>("b2")
                                  .Attr<double>("eps")
                                  .Attr<double>("weight_decay"));

// The draws of steps first_step .. first_step + n - 1 as the epoch draws them, for tests
// (test_native_draws.py): shift (n,) as an index into fastnet.shifts(max_shift), keep (n, 12, 16).
extern "C" void lecun1989_epoch_draws(const uint32_t* key, uint32_t first_step, int n, int max_shift, float keep_prob,
                                      int32_t* shift, bool* keep) {
  const int side = 2 * max_shift + 1;
  lecun1989::draws::StepDraws drawn[16];
  for (int i = 0; i < n; i++) {
    if (i % 16 == 0) lecun1989::draws::step_draws({key[0], key[1]}, first_step + uint32_t(i), max_shift, drawn);
    const auto& d = drawn[i % 16];
    shift[i] = (d.dx + max_shift) * side + d.dy + max_shift;
    lecun1989::draws::keep_mask(d.dropout, keep_prob, keep + 192 * i);
  }
}
