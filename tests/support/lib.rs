//! Test support: the fake upstream.
