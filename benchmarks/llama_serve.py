"""``python benchmarks/llama_serve.py ARGS`` = ``python -m llama_cpp.server ARGS`` with llama.cpp's extra CPU buffer
types off (run by the llama.cpp virtualenv's Python, never imported by the app).

Why: a build for this machine's CPU (-march=native) uses AMX tile instructions for Q4_1 weights when the CPU lists
``amx_tile``; where the kernel does not grant the process AMX state (containers, some VMs) the first matrix
multiply dies with SIGILL ("invalid opcode ... tilezero" in libggml-cpu.so). ``use_extra_bufts = False`` keeps the
weights in the plain Q4_1 layout and the plain kernels (Q4_1 x Q8_1 dot products), which run everywhere.
llama-cpp-python 0.3 does not expose the switch, so it is set on the default model parameters here.
"""

import runpy
import sys

import llama_cpp.llama_cpp as llama_cpp_lib

_default_params = llama_cpp_lib.llama_model_default_params


def _params():
    params = _default_params()
    params.use_extra_bufts = False
    return params


llama_cpp_lib.llama_model_default_params = _params
sys.argv = ["llama_cpp.server", *sys.argv[1:]]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
