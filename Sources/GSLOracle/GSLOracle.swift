// GSLOracle: independent Float64 linear algebra on top of GNU GSL. Speaks [Double] + shapes only.
import CGSL

