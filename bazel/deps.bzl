"""The repositories jaq's BUILD files name, for jaq's own WORKSPACE and for a consumer's.

A project that embeds jaq with Bazel (the Debian bazel-bootstrap 4.2.3 this repository is built
with, WORKSPACE mode, offline) declares jaq and then these, in its WORKSPACE:

    local_repository(name = "jaq", path = "/path/to/jaq")
    load("@jaq//bazel:deps.bzl", "jaq_dependencies")
    jaq_dependencies(jaq_path = "/path/to/jaq")

and depends on "@jaq//:jaq" (every module) or one module ("@jaq//jaq/batchtile", ...). Nothing
here downloads: the rule shims are jaq's own (third_party/) or Debian's (/usr/share/bazel), and
the system libraries come from the Debian packages tools/bootstrap.sh installs. A repository the
consumer already declares (its own rules_cc, say) is left as it is.
"""

def _declare(rule, name, **kwargs):
    if name not in native.existing_rules():
        rule(name = name, **kwargs)

def jaq_dependencies(jaq_path = "."):
    """Declares rules_cc, remote_coverage_tools, rules_java, platforms, sys and cuda.

    Args:
      jaq_path: jaq's checkout, as given to local_repository (absolute, or relative to the
        consumer's workspace root); "." inside jaq itself.
    """
    root = "" if jaq_path == "." else jaq_path.rstrip("/") + "/"

    # Shims for the repositories Bazel 4.2.3 would otherwise fetch.
    _declare(native.local_repository, "rules_cc", path = root + "third_party/rules_cc")
    _declare(native.local_repository, "remote_coverage_tools", path = root + "third_party/remote_coverage_tools")
    _declare(native.local_repository, "rules_java", path = "/usr/share/bazel/rules/java")
    _declare(native.local_repository, "platforms", path = "/usr/share/bazel/tools/platforms")

    # System headers and libraries (Debian packages) through one repository rooted at /usr/include.
    _declare(
        native.new_local_repository,
        "sys",
        path = "/usr/include",
        build_file = str(Label("//third_party:sys.BUILD")),
    )

    # CUDA toolkit (compile and link only on machines without a GPU).
    _declare(
        native.new_local_repository,
        "cuda",
        path = "/usr/local/cuda",
        build_file = str(Label("//third_party:cuda.BUILD")),
    )
