"""The native CPU engine: a training epoch in C++ (epoch.cc and its headers), called from JAX as an
XLA FFI custom call (native_engine.py), compiled for this machine on first use (build.py)."""
