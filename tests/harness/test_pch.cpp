// The target that compiles harness/test_pch.hpp into a precompiled header (tests/meson.build).
