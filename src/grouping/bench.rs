//! Throughput bench.
