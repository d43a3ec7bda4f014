// The network's outputs on many digits as an XLA FFI custom call: evaluation's forward pass, no
// shift, no dropout, eight digits at a time (forward8.h), bit for bit training's forward pass
// (net.h), which predict_digitwise below runs one digit at a time for the tests. Scoring a
// 50,000-digit training set after every epoch cost XLA's im2col forward pass about as much as the
// epoch's training.
#include <algorithm>
#include <cstdint>
#include <memory>

#include "forward8.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using F32x1 = ffi::Buffer<ffi::F32, 1>;  // aliases: a comma inside the handler macro splits its arguments
using F32x2 = ffi::Buffer<ffi::F32, 2>;
using F32x3 = ffi::Buffer<ffi::F32, 3>;

namespace lecun1989 {

template <class Act>
void predict(int64_t n, int head, const float* x, const float* p, float* outputs) {
  auto s = std::make_unique<Work8>();
  V out[10];
  for (int64_t i = 0; i < n; i += W) {
    int lanes = int(std::min<int64_t>(W, n - i));
    load_inputs8(*s, x + i * 256, lanes);
    forward8<Act>(*s, p, head, out);
    for (int l = 0; l < lanes; l++)
      for (int j = 0; j < 10; j++) outputs[(i + l) * 10 + j] = out[j][l];
  }
}

// The same outputs one digit at a time through net.h's kernels: the reference for predict.
template <class Act>
void predict_digitwise(int64_t n, int head, const float* x, const float* p, float* outputs) {
  auto s = std::make_unique<Work>();
  init_work(*s);
  float o[16];
  for (int64_t i = 0; i < n; i++) {
    load_input(*s, x + i * 256, 0, 0);
    forward_h1<Act>(*s, p);
    h2_patches(*s);
    forward_h2<Act>(*s, p);
    dropout(*s, nullptr, 1.0f);
    forward_h3_out<Act>(*s, p);
    for (int j = 0; j < 16; j += W) {
      V z = load(s->out + j);
      if (head == HEAD_TANH) z = tanh(z);
      if (head == HEAD_SCALED_TANH) z = ScaledTanh::f(z);
      store(o + j, z);
    }
    std::copy_n(o, 10, outputs + i * 10);
  }
}

template <class Act>
void predict_with(bool batched, int64_t n, int head, const float* x, const float* p, float* out) {
  batched ? predict<Act>(n, head, x, p, out) : predict_digitwise<Act>(n, head, x, p, out);
}

inline void predict_any(int activation, bool batched, int64_t n, int head, const float* x, const float* p, float* out) {
  FlushDenormals flush;
  if (activation == TANH) predict_with<Tanh>(batched, n, head, x, p, out);
  if (activation == RELU) predict_with<Relu>(batched, n, head, x, p, out);
  if (activation == SCALED_TANH) predict_with<ScaledTanh>(batched, n, head, x, p, out);
}

ffi::Error predict_outputs(F32x3 x, F32x1 params, ffi::Result<F32x2> outputs, int32_t activation, int32_t head) {
  const int64_t n = x.dimensions()[0];
  auto d = outputs->dimensions();
  if (x.dimensions()[1] != 16 || x.dimensions()[2] != 16 || params.dimensions()[0] != N_PARAMS || d[0] != n || d[1] != 10)
    return ffi::Error::InvalidArgument("lecun1989 native predict: inputs of unexpected shapes");
  if (activation < 0 || activation >= N_ACTIVATION_CODES || head < 0 || head >= N_HEAD_CODES)
    return ffi::Error::InvalidArgument("lecun1989 native predict: unknown activation or head");
  const float *xs = x.typed_data(), *p = params.typed_data();
  float* out = outputs->typed_data();
  predict_any(activation, true, n, head, xs, p, out);
  return ffi::Error::Success();
}

}  // namespace lecun1989

XLA_FFI_DEFINE_HANDLER_SYMBOL(lecun1989_predict, lecun1989::predict_outputs,
                              ffi::Ffi::Bind()
                                  .Arg<F32x3>()  // x
                                  .Arg<F32x1>()  // params
                                  .Ret<F32x2>()  // outputs (n, 10)
                                  .Attr<int32_t>("activation")
                                  .Attr<int32_t>("head"));

// predict_digitwise for the tests (test_native_predict.py): x (n, 16, 16), params (N_PARAMS,), outputs (n, 10).
extern "C" void lecun1989_predict_digitwise(int64_t n, int32_t activation, int32_t head, const float* x, const float* params,
                                            float* outputs) {
  lecun1989::predict_any(activation, false, n, head, x, params, outputs);
}
