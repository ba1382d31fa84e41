import SRIO

/// Replaces the float GEMM of Linear sites (e.g. integer execution, SRInteger's `IntegerModelPlan`).
///
/// Installed with `SRModel.linearExecutor`. Order at every Linear site: the activation hook (if any) is called
/// on the site's input first, in place; then `Linear.apply` offers the *hooked* input to the executor. So a
/// fake-quant hook and an integer executor see the same values (and, for symmetric quantizers, the executor's
/// re-quantization of an already fake-quantized x̂ gives back the hook's codes).
public protocol LinearExecutor: AnyObject {
    /// x: rows × site.inFeatures, row stride ldx (the hook's output). out: rows × site.outFeatures, row stride ldo,
    /// to be fully written, bias included. Return true when done; false (writing nothing) lets the engine run its
    /// float GEMM for this call.
    func execute(site: Site, x: UnsafePointer<Float>, ldx: Int, rows: Int,
                 out: UnsafeMutablePointer<Float>, ldo: Int) -> Bool
}

/// A Linear layer y = x·Wᵀ + b whose weight can be swapped (fake-quantized) and restored.
final class Linear: @unchecked Sendable {
    let inFeatures: Int
    let outFeatures: Int
    private(set) var weight: [Float]      // out × in
    private(set) var bias: [Float]?
    private let originalWeight: [Float]
    private let originalBias: [Float]?
    private var packed: GEMM.Packed
    /// Set by `SiteTable.addLinear`; with `executor`, consulted before the float GEMM (nil: no extra work).
    fileprivate(set) var site: Site?
    fileprivate(set) var executor: LinearExecutor?

    init(weight: Tensor, bias: Tensor?) {
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        self.weight = weight.data
        originalWeight = weight.data
        self.bias = bias?.data
        originalBias = bias?.data
        packed = GEMM.Packed(transposeOf: weight.data, rows: outFeatures, cols: inFeatures)
    }

    func setWeight(_ w: [Float]) {
        weight = w
        packed = GEMM.Packed(transposeOf: w, rows: outFeatures, cols: inFeatures)
    }

    /// Replaces the bias (a plan with rotations folded into the weight rows carries the rotated bias).
    func setBias(_ b: [Float]) { bias = b }

    func restore() { setWeight(originalWeight); bias = originalBias }

    /// out (rows × outFeatures, row stride ldo) = x (rows × inFeatures, stride ldx) · Wᵀ + b.
    func apply(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into out: UnsafeMutablePointer<Float>, ldo: Int? = nil) {
        let ldo = ldo ?? outFeatures
        if let ex = executor, let s = site,
           ex.execute(site: s, x: x, ldx: ldx ?? inFeatures, rows: rows, out: out, ldo: ldo) { return }
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
        let site = Site(name: name, kind: .linear(inFeatures: layer.inFeatures, outFeatures: layer.outFeatures))
        layer.site = site
        return add(site)
    }

    /// Runs the attention matmuls whose operand sites it quantizes (nil: float matmuls, the hook quantizes operands).
    var operandExecutor: OperandProductExecutor?

    /// Installs (or, with nil, removes) the executor on every Linear site.
    func setExecutor(_ executor: LinearExecutor?) {
        for l in linears.values { l.executor = executor }
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

    func setBias(_ site: Site, _ b: Tensor) throws {
        let l = try linear(for: site)
        guard l.bias != nil, b.shape == [l.outFeatures] else {
            throw EngineError("setLinearBias(\(site.name)): expected shape [\(l.outFeatures)] on a Linear with a bias, got \(b.shape)"
                              + (l.bias == nil ? " (this Linear has no bias)" : ""))
        }
        guard b.data.allSatisfy({ $0.isFinite }) else { throw EngineError("setLinearBias(\(site.name)): bias contains NaN or infinity") }
        l.setBias(b.data)
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
