import HarmoQ
import SREngine
import SRIO

