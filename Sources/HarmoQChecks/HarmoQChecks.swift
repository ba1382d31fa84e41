import HarmoQ
import GSLOracle

