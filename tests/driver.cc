// The training kernel (epoch.h) as a standalone program, without XLA or JAX: it runs one epoch from
// the inputs in a file and writes the trained parameters and optimizer state, so that the bits can be
// compared across compilers, instruction sets and CPUs (tests/test_bits.py; on aarch64 under qemu).
//
//   driver INPUT OUTPUT [REPEATS]   REPEATS > 1: also print the steps per second of the best repeat
//   driver --curvature INPUT OUTPUT SDLM's curvature estimate (curvature.h) instead
//
// INPUT (native byte order): int32 n, activation, head, loss, optimizer, max_shift, dropout (0 or 1),
// state_rows; uint32 key[2], first_step, 0; float32 keep_prob, 0; float64 b1, b2, eps, weight_decay;
// then float32 x (n, 16, 16), int32 y (n), float32 steps (n, 3), float32 params (N_PARAMS), float32
// state (state_rows, N_PARAMS). OUTPUT: params, then state, as float32.
// With --curvature, INPUT: int32 n, activation, head, 0; float32 x (n, 16, 16), params (N_PARAMS).
// OUTPUT: the estimate h (N_PARAMS), as float32.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "curvature.h"
#include "epoch.h"

namespace {

struct Reader {
  FILE* f;
  template <class T>
  std::vector<T> read(size_t n) {
    std::vector<T> v(n);
    if (n && std::fread(v.data(), sizeof(T), n, f) != n) {
      std::fprintf(stderr, "driver: input file too short\n");
      std::exit(2);
    }
    return v;
  }
};

FILE* open_input(const char* path) {
  FILE* f = std::fopen(path, "rb");
  if (!f) {
    std::fprintf(stderr, "driver: cannot read %s\n", path);
    std::exit(2);
  }
  return f;
}

int write_output(const char* path, const std::vector<float>& a, const std::vector<float>& b = {}) {
  FILE* out = std::fopen(path, "wb");
  if (!out || std::fwrite(a.data(), 4, a.size(), out) != a.size() || std::fwrite(b.data(), 4, b.size(), out) != b.size() ||
      std::fclose(out)) {
    std::fprintf(stderr, "driver: cannot write %s\n", path);
    return 2;
  }
  return 0;
}

int estimate_curvature(const char* input, const char* output) {
  Reader r{open_input(input)};
  auto head = r.read<int32_t>(4);
  auto x = r.read<float>(size_t(head[0]) * 256);
  auto params = r.read<float>(lecun1989::N_PARAMS);
  std::fclose(r.f);
  std::vector<float> h(lecun1989::N_PARAMS);
  lecun1989::curvature::estimate(params.data(), x.data(), head[0], head[1], head[2], h.data());
  return write_output(output, h);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lecun1989;
  if (argc > 3 && std::strcmp(argv[1], "--curvature") == 0) return estimate_curvature(argv[2], argv[3]);
  if (argc < 3) {
    std::fprintf(stderr, "usage: driver INPUT OUTPUT [REPEATS] | driver --curvature INPUT OUTPUT\n");
    return 2;
  }
  Reader r{open_input(argv[1])};
  auto head = r.read<int32_t>(8);
  auto key = r.read<uint32_t>(4);
  auto keep_prob = r.read<float>(2);
  auto hyper = r.read<double>(4);
  const int n = head[0], rows = head[7];
  auto x = r.read<float>(size_t(n) * 256);
  auto y = r.read<int32_t>(n);
  auto steps = r.read<float>(size_t(n) * 3);
  auto params0 = r.read<float>(N_PARAMS);
  auto state0 = r.read<float>(size_t(rows) * N_PARAMS);
  std::fclose(r.f);

  const int repeats = argc > 3 ? std::atoi(argv[3]) : 1;
  std::vector<float> params, state;
  double best = 1e300;
  for (int rep = 0; rep < repeats; rep++) {
    params = params0, state = state0;
    Epoch e{n,        head[5],  head[2],      head[3],       head[6] != 0, keep_prob[0], {key[0], key[1]}, key[2],
            x.data(), y.data(), steps.data(), params.data(), state.data(), make_hyper(hyper[0], hyper[1], hyper[2], hyper[3])};
    auto t0 = std::chrono::steady_clock::now();
    run_epoch(head[1], head[4], e);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = s < best ? s : best;
  }
  if (repeats > 1) std::printf("%.0f steps/s\n", n / best);
  return write_output(argv[2], params, state);
}
