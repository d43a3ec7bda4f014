// SDLM's curvature estimate (curvature.h) as an XLA FFI custom call, for the native engine's runs
// (curvature.py).
#include <cstdint>

#include "curvature.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using F32x1 = ffi::Buffer<ffi::F32, 1>;  // aliases: a comma inside the handler macro splits its arguments
using F32x3 = ffi::Buffer<ffi::F32, 3>;

namespace lecun1989 {

ffi::Error curvature_estimate(F32x1 params, F32x3 x, ffi::Result<F32x1> h, int32_t activation, int32_t head) {
  auto d = x.dimensions();
  if (params.dimensions()[0] != N_PARAMS || d[0] < 1 || d[1] != 16 || d[2] != 16)
    return ffi::Error::InvalidArgument("lecun1989 native curvature: inputs of unexpected shapes");
  if (activation < 0 || activation >= N_ACTIVATION_CODES || head < 0 || head >= N_HEAD_CODES)
    return ffi::Error::InvalidArgument("lecun1989 native curvature: unknown activation or head");
  curvature::estimate(params.typed_data(), x.typed_data(), d[0], activation, head, h->typed_data());
  return ffi::Error::Success();
}

}  // namespace lecun1989

XLA_FFI_DEFINE_HANDLER_SYMBOL(lecun1989_curvature, lecun1989::curvature_estimate,
                              ffi::Ffi::Bind()
                                  .Arg<F32x1>()  // params, the engine's order
                                  .Arg<F32x3>()  // x (n, 16, 16)
                                  .Ret<F32x1>()  // h, the engine's order
                                  .Attr<int32_t>("activation")
                                  .Attr<int32_t>("head"));
