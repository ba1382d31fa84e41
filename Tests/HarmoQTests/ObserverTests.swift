import Testing
import HarmoQ

@Suite("Observers")
struct ObserverTests {
    @Test func minMaxAndAbsMax() throws {
        #expect(try Observer.minMax([3, -1, 2]) == (-1, 3))
        #expect(try Observer.absMax([3, -1, 2]) == (-3, 3))
        #expect(try Observer.minMax([2, 2]) == (1.995, 2.005))
    }

    /// Percentile on 0…100 (101 values) with linear interpolation: 99th → 99, 1st → 1; 99.5th → 99.5.
    @Test func percentileLinear() throws {
        let x = (0...100).map(Float.init).shuffled()
        #expect(try Observer.percentile(x, 99) == (1, 99))
        #expect(try Observer.percentile(x, 99.5) == (0.5, 99.5))
        #expect(try Observer.percentile(x, 100) == (0, 100))
    }

    /// DOBI keeps the first (widest) candidate on ties and never beats the exhaustive minimum of its own grid.
    @Test func dobiMatchesBruteForceOverItsGrid() throws {
        var rng = SplitMix64(seed: 11)
        var x: [Float] = (0..<2000).map { _ in Float(rng.nextUniform() * 2 - 1) }
        x[0] = 25   // one outlier: DOBI should shrink the upper bound a lot
        for bits in [2, 3, 4] {
            let (lb, ub) = try Observer.dobi(x, bits: bits)
            let (mn, mx) = try Observer.minMax(x)
            let delta = (mx - mn) / 200
            var best = Double.infinity, arg = 0
            for i in 0..<100 {
                let e = Observer.quantError(x, lower: mn + Float(i) * delta, upper: mx - Float(i) * delta, bits: bits, scheme: .affine)
                if e < best { best = e; arg = i }
            }
            #expect(lb == mn + Float(arg) * delta && ub == mx - Float(arg) * delta, "bits=\(bits)")
            // Two-sided shrink moves lb up as fast as ub down, so one far outlier on one side cannot be cut
            // (lb would pass the bulk of the data); the one-direction mode cuts it and has lower error.
            let oneDir = try Observer.dobi(x, bits: bits, oneDirection: true)
            #expect(oneDir.0 == mn)
            #expect(oneDir.1 < mx, "bits=\(bits): one-direction DOBI did not shrink, ub=\(oneDir.1)")
            let eOne = Observer.quantError(x, lower: oneDir.0, upper: oneDir.1, bits: bits, scheme: .affine)
            #expect(eOne < best, "bits=\(bits)")
        }
    }

    @Test func mseSearchNoWorseThanMinMax() throws {
        var rng = SplitMix64(seed: 12)
        let x: [Float] = (0..<3000).map { _ in let u = rng.nextUniform(); return Float((u - 0.5) * (u < 0.01 ? 40 : 2)) }
        for bits in 2...6 {
            let (lo, hi) = try Observer.mseSearch(x, bits: bits, scheme: .symmetric)
            let (alo, ahi) = try Observer.absMax(x)
            let eSearch = Observer.quantError(x, lower: lo, upper: hi, bits: bits, scheme: .symmetric)
            let eMax = Observer.quantError(x, lower: alo, upper: ahi, bits: bits, scheme: .symmetric)
            #expect(eSearch <= eMax, "bits=\(bits)")
        }
    }
}
