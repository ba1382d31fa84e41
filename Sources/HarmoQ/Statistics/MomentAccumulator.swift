/// Streaming outlier statistics of a set of values, in Float64: the count, max |x|, Σx² (for the RMS about zero), and
/// the mean with the central sums M2 = Σ(x − μ)², M3, M4. Each batch is summed in two passes (mean, then central sums)
/// and merged into the running state with Pébay's pairwise update (Pébay 2008, eqs. 2.1–2.4), so a tensor added in
/// pieces gives the same statistics as added at once, to rounding.
///
/// * `maxOverRMS` = max |x| / sqrt(mean x²): how far the largest value stands out of the typical magnitude (what a
///   per-tensor grid's range pays for); 1 for a constant-magnitude tensor, √n for one non-zero among n.
/// * `kurtosis` = n·M4 / M2² (Pearson's, not excess: 3 for a Gaussian, 1.8 for a uniform, large for a few outliers).
public struct MomentAccumulator: Sendable, Equatable {
    public private(set) var count = 0
    public private(set) var maxAbs = 0.0
    public private(set) var sumSquares = 0.0
    public private(set) var mean = 0.0
    public private(set) var m2 = 0.0
    public private(set) var m3 = 0.0
    public private(set) var m4 = 0.0

    public init() {}

    /// Adds a batch of values.
    public mutating func add<C: Collection>(_ values: C) where C.Element == Float {
        guard !values.isEmpty else { return }
        var b = MomentAccumulator()
        b.count = values.count
        var s = 0.0
        for v in values { let x = Double(v); s += x; b.sumSquares += x * x; b.maxAbs = Swift.max(b.maxAbs, abs(x)) }
        b.mean = s / Double(b.count)
        for v in values {
            let d = Double(v) - b.mean, d2 = d * d
            b.m2 += d2; b.m3 += d2 * d; b.m4 += d2 * d2
        }
        merge(b)
    }

    /// Merges another accumulator's values into this one (Pébay's pairwise update of M2, M3, M4).
    public mutating func merge(_ b: MomentAccumulator) {
        guard b.count > 0 else { return }
        guard count > 0 else { self = b; return }
        let na = Double(count), nb = Double(b.count), n = na + nb
        let d = b.mean - mean, d2 = d * d
        let m4 = self.m4 + b.m4 + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n)
            + 6 * d2 * (na * na * b.m2 + nb * nb * m2) / (n * n) + 4 * d * (na * b.m3 - nb * m3) / n
        let m3 = self.m3 + b.m3 + d2 * d * na * nb * (na - nb) / (n * n) + 3 * d * (na * b.m2 - nb * m2) / n
        let m2 = self.m2 + b.m2 + d2 * na * nb / n
        self.m4 = m4; self.m3 = m3; self.m2 = m2
        mean += d * nb / n
        count += b.count
        sumSquares += b.sumSquares
        maxAbs = Swift.max(maxAbs, b.maxAbs)
    }

    /// sqrt(mean x²) (about zero, not the standard deviation); nil without values.
    public var rms: Double? { count > 0 ? (sumSquares / Double(count)).squareRoot() : nil }

    /// max |x| / RMS; nil without values or when every value is 0.
    public var maxOverRMS: Double? {
        guard let r = rms, r > 0 else { return nil }
        return maxAbs / r
    }

    /// n·M4 / M2² (Pearson); nil without values or when all values are equal.
    public var kurtosis: Double? {
        guard count > 0, m2 > 0 else { return nil }
        return Double(count) * m4 / (m2 * m2)
    }
}
