"""Compiler options shared by every jaq target (one place, like Abseil's copts)."""

JAQ_COPTS = [
    "-Wall",
    "-Wextra",
    # The tree builds warning-free with GCC 12 (Debian's, CI's): keep it so.
    "-Werror",
    "-Wno-unused-parameter",
    # Designated initialisers that leave a defaulted member out are the point of named configs.
    "-Wno-missing-field-initializers",
]

# Tests keep internal invariants (JAQ_ASSERT) on, even in -c opt builds.
JAQ_TEST_COPTS = JAQ_COPTS + ["-DJAQ_ENABLE_ASSERTS=1"]

def jaq_cc_test(name, srcs, deps = [], size = "small", data = [], tags = [], **kwargs):
    """A doctest test: links the shared doctest main and uses the test copts."""
    native.cc_test(
        name = name,
        srcs = srcs,
        copts = JAQ_TEST_COPTS,
        deps = deps + ["//tests:doctest_main"],
        size = size,
        data = data,
        tags = tags,
        **kwargs
    )

def jaq_headers():
    """Every header of the calling package as the filegroup `headers`, for jaq's CMake install
    (//jaq:all_headers, tests/cmake/consumer_test.sh)."""
    native.filegroup(
        name = "headers",
        srcs = native.glob(["**/*.hpp", "**/*.inc"]),
    )
