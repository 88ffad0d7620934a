//! TLS for forward mode: the local CA and the leaf certificates minted from it.
