import SRIO

/// A Linear layer y = x·Wᵀ + b whose weight can be swapped (fake-quantized) and restored.
final class Linear: @unchecked Sendable {
    let inFeatures: Int
    let outFeatures: Int
    private(set) var weight: [Float]      // out × in
    let bias: [Float]?
    private let originalWeight: [Float]
    private var packed: GEMM.Packed

    init(weight: Tensor, bias: Tensor?) {
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        self.weight = weight.data
        originalWeight = weight.data
        self.bias = bias?.data
        packed = GEMM.Packed(transposeOf: weight.data, rows: outFeatures, cols: inFeatures)
    }

    func setWeight(_ w: [Float]) {
        weight = w
        packed = GEMM.Packed(transposeOf: w, rows: outFeatures, cols: inFeatures)
    }

    func restore() { setWeight(originalWeight) }

    /// out (rows × outFeatures, row stride ldo) = x (rows × inFeatures, stride ldx) · Wᵀ + b.
    func apply(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into out: UnsafeMutablePointer<Float>, ldo: Int? = nil) {
        let ldo = ldo ?? outFeatures
        if let b = bias {
            b.withUnsafeBufferPointer { bp in
                GEMM.multiply(m: rows, a: x, lda: ldx ?? inFeatures, packed: packed, c: out, ldc: ldo, bias: bp.baseAddress!)
            }
        } else {
            GEMM.multiply(m: rows, a: x, lda: ldx ?? inFeatures, packed: packed, c: out, ldc: ldo)
        }
    }
}

/// The model's Linear sites by name, plus the hook plumbing shared by both architectures.
final class SiteTable {
    private(set) var sites: [Site] = []
    private var indexByName: [String: Int] = [:]
    private var linears: [String: Linear] = [:]

    @discardableResult
    func addLinear(_ name: String, _ layer: Linear) -> Int {
        linears[name] = layer
        return add(Site(name: name, kind: .linear(inFeatures: layer.inFeatures, outFeatures: layer.outFeatures)))
    }

    @discardableResult
    func addOperand(_ name: String) -> Int { add(Site(name: name, kind: .matmulOperand)) }

    private func add(_ s: Site) -> Int {
        precondition(indexByName[s.name] == nil, "duplicate site \(s.name)")
        indexByName[s.name] = sites.count
        sites.append(s)
        return sites.count - 1
    }

    func linear(for site: Site) throws -> Linear {
        guard let l = linears[site.name], site.isLinear else {
            throw EngineError("site '\(site.name)' is not a Linear site of this model")
        }
        return l
    }

    func weight(_ site: Site) throws -> (weight: Tensor, bias: Tensor?) {
        let l = try linear(for: site)
        return (Tensor(shape: [l.outFeatures, l.inFeatures], data: l.weight),
                l.bias.map { Tensor(shape: [$0.count], data: $0) })
    }

    func setWeight(_ site: Site, _ w: Tensor) throws {
        let l = try linear(for: site)
        guard w.shape == [l.outFeatures, l.inFeatures] else {
            throw EngineError("setLinearWeight(\(site.name)): expected shape [\(l.outFeatures), \(l.inFeatures)], got \(w.shape)")
        }
        guard w.data.allSatisfy({ $0.isFinite }) else {
            throw EngineError("setLinearWeight(\(site.name)): weight contains NaN or infinity")
        }
        l.setWeight(w.data)
    }

    func restoreAll() { for l in linears.values { l.restore() } }

    /// Calls the hook (if any) on a row-major rows × cols buffer.
    @inline(__always)
    func call(_ hook: ActivationHook?, _ index: Int, _ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        guard let hook else { return }
        hook.process(site: sites[index], index: index,
                     values: UnsafeMutableBufferPointer(start: p, count: rows * cols), rows: rows, cols: cols)
    }
}
