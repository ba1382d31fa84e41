import SRIO
import HarmoQ
// SREngine: models and kernels live in Models/, Kernels/, Sites/.

