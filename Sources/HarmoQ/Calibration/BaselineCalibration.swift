/// Baseline bounds (see `CalibrationMethod`) for one layer.
public enum BaselineCalibration {
    /// At most this many activation values feed the sort/search observers (percentile, DOBI, MSE); a seeded row
    /// subset is used beyond it.
    public static let observerValueCap = 262_144

    public static func calibrate(_ p: LayerProblem, method: CalibrationMethod, weightBits: Int, activationBits: Int,
                                 rounding: Rounding = .halfToEven, seed: UInt64 = 0) throws -> LayerQuantization {
        let iz = method.zeroPoint == .integer   // the method's affine grids (`CalibrationMethod.zeroPoint`)
        let m = p.outputs, d = p.inputs
        let rowsCap = Swift.max(1, observerValueCap / d)
        let xObs = p.rows > rowsCap ? p.gather(p.rowSubset(rowsCap, seed: seed &+ 0x5eed)) : p.samples
        func row(_ i: Int) -> [Float] { Array(p.weight[(i * d)..<((i + 1) * d)]) }
        var wl = [Float](repeating: 0, count: m), wu = [Float](repeating: 0, count: m)
        var al: Float = 0, au: Float = 0
        var wScheme = QuantScheme.symmetric, aScheme = QuantScheme.symmetric
        var granularity = WeightGranularity.perChannel
        switch method {
        case .minMax, .harmoq:
            for i in 0..<m { (wl[i], wu[i]) = try Observer.absMax(row(i)) }
            (al, au) = try Observer.absMax(p.samples)
        case .percentile(let pc):
            for i in 0..<m { (wl[i], wu[i]) = try Observer.absMax(row(i)) }
            (al, au) = Observer.symmetrise(try Observer.percentile(xObs, pc))
        case .mseSearch:
            for i in 0..<m { (wl[i], wu[i]) = try Observer.mseSearch(row(i), bits: weightBits, scheme: .symmetric, rounding: rounding) }
            (al, au) = try Observer.mseSearch(xObs, bits: activationBits, scheme: .symmetric, rounding: rounding)
        case .dobi(let one, _):
            wScheme = .affine; aScheme = .affine; granularity = .perTensor
            let (l, u) = try Observer.dobi(p.weight, bits: weightBits, scheme: .affine, oneDirection: one, rounding: rounding,
                                           integerZeroPoint: iz)
            wl = [Float](repeating: l, count: m); wu = [Float](repeating: u, count: m)
            (al, au) = try Observer.dobi(xObs, bits: activationBits, scheme: .affine, oneDirection: one, rounding: rounding,
                                         integerZeroPoint: iz)
        case .twoDQuantScheme:
            wScheme = .affine; aScheme = .affine; granularity = .perTensor
            let (l, u) = try Observer.minMax(p.weight)
            wl = [Float](repeating: l, count: m); wu = [Float](repeating: u, count: m)
            (al, au) = try Observer.minMax(p.samples)
        }
        return LayerQuantization(weightBits: weightBits, activationBits: activationBits, weightScheme: wScheme,
                                 activationScheme: aScheme, rounding: rounding, weightGranularity: granularity,
                                 outputs: m, inputs: d, weightLower: wl, weightUpper: wu,
                                 activationLower: al, activationUpper: au, inputScale: nil, weight: p.weight,
                                 activationIntegerZeroPoint: iz && aScheme == .affine ? true : nil,
                                 weightIntegerZeroPoint: iz && wScheme == .affine ? true : nil)
    }
}
