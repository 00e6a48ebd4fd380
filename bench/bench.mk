# bench/bench.mk - micro-benchmarks and the benchmark driver
