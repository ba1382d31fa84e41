import HarmoQ
import SRIO
import SREngine
import CIntKernels
