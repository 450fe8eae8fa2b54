# The toolchain the shipped .wasm is built with (sourced by setup.sh and build.sh): a pinned
# nightly, for what stable cannot do (std built for size with the crate, panics that abort at
# once, no source locations). Stable builds, lints and tests the crate everywhere else.
SHIP_TOOLCHAIN=nightly-2026-05-20
