"""jaq_cuda_library: CUDA sources compiled by nvcc into a cc_library (see ../shared/notes/build-offline.md).

Each `.cu` becomes one object through a genrule running the toolkit's nvcc (/usr/local/cuda,
the @cuda repository), for sm_90 (H100/H200) plus compute_90 PTX, which newer GPUs JIT. The
genrule sees only declared files, so `cu_hdrs` lists every header the sources include. The
objects are linked statically with libcudart_static (a dynamically linked test fails with
`undefined symbol: __cudaPopCallConfiguration` otherwise).

Built with `--define=jaq_cuda=off` (a machine without the toolkit), the library is made of
`fallback_srcs` instead: the same host API, reporting that no device can be used, so everything
else builds and tests. The nvcc genrules are tagged manual: `//...` builds them only through the
library, that is only when CUDA is on.
"""

NVCC = "/usr/local/cuda/bin/nvcc"

# Exact arithmetic shared with the host: IEEE division and square root are nvcc's defaults;
# --fmad=false keeps a*b+c unfused (the cost model's energies must equal the host's bit for bit,
# and the host never contracts: JAQ_NO_FP_CONTRACT). --expt-relaxed-constexpr lets device code
# call the constexpr helpers of jaq/hw (loop_order, std::array). --extended-lambda: the training
# program's element functions are __host__ __device__ lambdas (kernels/detail/train_program.hpp).
NVCC_FLAGS = [
    "-std=c++20",
    "-O3",
    "--fmad=false",
    "--expt-relaxed-constexpr",
    "--extended-lambda",
    "-Xcompiler=-fPIC",
    "-gencode=arch=compute_90,code=sm_90",
    "-gencode=arch=compute_90,code=compute_90",
    "-DNDEBUG",
    "-Werror=all-warnings",
]

def jaq_cuda_library(name, cu_srcs, hdrs, cu_hdrs, fallback_srcs, deps = [], **kwargs):
    """A cc_library of nvcc objects (or of fallback_srcs under --define=jaq_cuda=off).

    Args:
      name: the library.
      cu_srcs: the .cu files, one object each.
      hdrs: the library's public headers (host C++, no CUDA header needed).
      cu_hdrs: every file the .cu files include (jaq headers, kernels/ headers).
      fallback_srcs: C++ sources defining the same host API without CUDA.
      deps: cc_library dependencies of the host side.
      **kwargs: passed to the cc_library.
    """
    objs = []
    for src in cu_srcs:
        obj = name + "_" + src.replace("/", "_").replace(".cu", ".o")
        native.genrule(
            name = obj.replace(".o", "_nvcc"),
            srcs = [src] + cu_hdrs + ["//:WORKSPACE"],
            outs = [obj],
            # nvcc names its temporary files after its process id. Sandboxed actions have their own
            # PID namespace (every nvcc is pid 2) but share /tmp, so two at once overwrite each
            # other's files ("tmpxft_00000002_...cudafe1.cpp: No such file"): each gets its own TMPDIR.
            cmd = ("T=$$(mktemp -d) && TMPDIR=$$T {nvcc} {flags} -I$$(dirname $(location //:WORKSPACE)) -c $(location {src}) -o $@; " +
                   "rc=$$?; rm -rf $$T; exit $$rc").format(
                nvcc = NVCC,
                flags = " ".join(NVCC_FLAGS),
                src = src,
            ),
            tags = ["manual"],
        )
        objs.append(obj)
    native.cc_library(
        name = name,
        srcs = select({
            "//kernels:no_cuda": fallback_srcs,
            "//conditions:default": objs,
        }),
        hdrs = hdrs,
        linkstatic = True,
        deps = deps + select({
            "//kernels:no_cuda": [],
            "//conditions:default": ["@cuda//:cudart_static"],
        }),
        **kwargs
    )
