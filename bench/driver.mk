# bench/driver.mk - spillway bench, stats, plots (owner: bench)
