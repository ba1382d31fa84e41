// HarmoQ core: quantizers, observers, statistics, solvers, calibration. Never imports GSL.

