import HarmoQ
import SREngine

/// The online rotation of one linear site in a plan: x → Rᵀx (rows: x·R) before the input quantizer, with the stored
/// weight already W·R. Sidecar: `kind`, `seed`, `order`; the matrix itself is a tensor `<site>.rotation` (n×n) for
/// kinds whose matrix cannot be regenerated bit for bit from the seed on every platform (`random`: Box–Muller uses
/// libm), and is regenerated from kind + seed otherwise (`hadamard`: entries ±1/√n).
public struct SiteRotation: Codable, Sendable, Equatable {
    public var kind: RotationKind
    public var seed: UInt64
    public var order: Int
    /// Row-major n×n (Float32), when stored (not in the sidecar: the tensor `<site>.rotation`).
    public var matrix: [Float]? = nil

    enum CodingKeys: String, CodingKey { case kind, seed, order }

    public init(kind: RotationKind, seed: UInt64, order: Int, matrix: [Float]? = nil) {
        self.kind = kind; self.seed = seed; self.order = order; self.matrix = matrix
    }

    /// Whether plans store this kind's matrix as a tensor.
    public static func storesMatrix(_ kind: RotationKind) -> Bool { kind == .random || kind == .learned }

    /// The site's rotation for a run: a fresh matrix of `kind`, with the matrix attached when the kind stores it.
    public static func make(kind: RotationKind, order: Int, seed: UInt64) throws -> (SiteRotation, Rotation) {
        let r = try Rotation.make(kind: kind, order: order, seed: seed)
        return (SiteRotation(kind: kind, seed: seed, order: order, matrix: storesMatrix(kind) ? r.floatMatrix : nil), r)
    }

    /// The rotation this record describes: the stored matrix (checked orthogonal) or the one regenerated from the seed.
    public func rotation() throws -> Rotation {
        if let m = matrix {
            return try Rotation(kind: kind, seed: seed, order: order, matrix: m.map(Double.init))
        }
        if SiteRotation.storesMatrix(kind) {
            throw QuantError("a \(kind.rawValue) rotation needs its stored matrix (tensor '<site>.rotation')")
        }
        return try Rotation.make(kind: kind, order: order, seed: seed)
    }
}

/// Which sites get an online rotation, and each site's seed. Online (nothing can absorb Rᵀ): by default the inputs of
/// `qkv` (fused, or each of the split `qkv.q/.k/.v`), `fc1` and `fc2`; `proj` on request (in DAT-light nothing can absorb
/// its rotation either; in SwinIR-light a per-head one could be folded into v, docs/rotations.md).
public enum RotationPolicy {
    /// The Linear kinds that can be rotated online (`--rotate-sites`).
    public enum Layer: String, Codable, Sendable, CaseIterable { case qkv, proj, fc1, fc2 }
    public static let defaultLayers: Set<Layer> = [.qkv, .fc1, .fc2]

    /// The Linear kind of a site, or nil for sites that are not rotated (matmul operands, other linears).
    public static func layer(of site: Site) -> Layer? {
        guard site.isLinear else { return nil }
        let n = site.name
        if n.hasSuffix(".qkv") || n.hasSuffix(".qkv.q") || n.hasSuffix(".qkv.k") || n.hasSuffix(".qkv.v") { return .qkv }
        if n.hasSuffix(".proj") { return .proj }
        if n.hasSuffix(".fc1") { return .fc1 }
        if n.hasSuffix(".fc2") { return .fc2 }
        return nil
    }

    public static func isOnlineSite(_ site: Site, layers: Set<Layer> = defaultLayers) -> Bool {
        layer(of: site).map(layers.contains) ?? false
    }

    /// The seed of site `index` in a run with seed `seed` (each site its own signs / matrix).
    public static func siteSeed(run seed: UInt64, index: Int) -> UInt64 {
        var g = SplitMix64(seed: seed ^ (0x524F_5441_5445 &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        return g.next()
    }

    /// Rotations for every online site of `model` (by site index), kind `kind`, run seed `seed`.
    public static func rotations(for model: any SRModel, kind: RotationKind, seed: UInt64,
                                 layers: Set<Layer> = defaultLayers) throws -> [Int: (SiteRotation, Rotation)] {
        var out: [Int: (SiteRotation, Rotation)] = [:]
        for (i, s) in model.sites.enumerated() where isOnlineSite(s, layers: layers) {
            guard case let .linear(d, _) = s.kind else { continue }
            do { out[i] = try SiteRotation.make(kind: kind, order: d, seed: siteSeed(run: seed, index: i)) } catch {
                throw QuantError("--rotate \(kind.rawValue): site \(s.name) (\(d) inputs): \(error)")
            }
        }
        return out
    }
}

/// The online transform of one site in Float32: rows × n buffer ← buffer · R, by the engine's GEMM (R packed once).
/// Dense: n² multiply–adds per token (`Rotation.multiplyAddsPerToken`).
public final class OnlineRotation: @unchecked Sendable {
    public let order: Int
    private let packed: GEMM.Packed

    public init(_ r: Rotation) {
        order = r.order
        let m = r.floatMatrix
        packed = m.withUnsafeBufferPointer { GEMM.Packed(k: r.order, n: r.order, b: $0.baseAddress!, ldb: r.order, transB: false) }
    }

    /// Rows per block of the in-place `apply`: a multiple of the GEMM kernel's 6-row tile, so every row is computed
    /// by the same tile as one whole-buffer GEMM (bit-identical, `OnlineRotationTests`), and small enough that a
    /// block's product stays in cache until it is copied back (192 × 120 floats = 90 KiB at the largest order).
    public static let blockRows = 192

    /// values (rows × order, row-major) ← values · R, in place: row blocks (in parallel chunks), each multiplied into
    /// a block-sized scratch buffer (one per chunk) and copied back while it is in cache (no whole-buffer temporary).
    public func apply(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, parallel: Bool = true) {
        precondition(values.count == rows * order)
        guard rows > 0 else { return }
        let n = order, base = values.baseAddress!, per = OnlineRotation.blockRows
        let blocks = (rows + per - 1) / per
        let chunk: (Range<Int>) -> Void = { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.min(per, rows) * n) { t in
                for b in range {
                    let lo = b * per, m = Swift.min(per, rows - lo)
                    GEMM.multiply(m: m, a: UnsafePointer(base + lo * n), lda: n, packed: self.packed,
                                  c: t.baseAddress!, ldc: n, parallel: false)
                    (base + lo * n).update(from: t.baseAddress!, count: m * n)
                }
            }
        }
        if parallel { Parallel.ranges(blocks, minPerChunk: 1, chunk) } else { chunk(0..<blocks) }
    }

    /// The previous whole-buffer form of `apply` (one GEMM into a temporary array, then a copy): the reference the
    /// blocked form is tested against bit for bit.
    public func applyWholeBuffer(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, parallel: Bool = true) {
        precondition(values.count == rows * order)
        var tmp = [Float](repeating: 0, count: values.count)
        tmp.withUnsafeMutableBufferPointer { t in
            GEMM.multiply(m: rows, a: UnsafePointer(values.baseAddress!), lda: order, packed: packed,
                          c: t.baseAddress!, ldc: order, parallel: parallel)
        }
        _ = values.update(fromContentsOf: tmp)
    }

    /// x (rows × order) · R as a new array.
    public func rotated(_ x: UnsafeBufferPointer<Float>, rows: Int, parallel: Bool = true) -> [Float] {
        precondition(x.count == rows * order)
        var out = [Float](repeating: 0, count: x.count)
        out.withUnsafeMutableBufferPointer { o in
            GEMM.multiply(m: rows, a: x.baseAddress!, lda: order, packed: packed, c: o.baseAddress!, ldc: order, parallel: parallel)
        }
        return out
    }
}

extension RotationPolicy {
    /// A plan that quantizes nothing (W32A32) and only rotates: every online site of `model` with its rotation and the
    /// weight W·R. `QuantizedModel.apply` of it must reproduce the FP model to float noise (RotationEquivalenceTests) —
    /// the same applier and the same per-site rotations a calibrated plan uses.
    public static func floatPlan(model: any SRModel, kind: RotationKind, seed: UInt64,
                                 layers: Set<Layer> = defaultLayers) throws -> QParams {
        var sites: [SiteQuantization] = []
        for (i, r) in try rotations(for: model, kind: kind, seed: seed, layers: layers).sorted(by: { $0.key < $1.key }) {
            let site = model.sites[i]
            let w = try model.linearWeight(site).weight
            let m = w.shape[0], d = w.shape[1]
            var l = try LayerQuantization.shell(weightBits: QuantBits.float, activationBits: QuantBits.float, weightScheme: .symmetric, activationScheme: .symmetric,
                                                rounding: .halfToEven, weightGranularity: .perChannel, outputs: m, inputs: d)
            l.weight = r.1.rotateWeight(w.data, outputs: m)
            l.weightLower = [Float](repeating: -1, count: m); l.weightUpper = [Float](repeating: 1, count: m)
            l.activationLower = -1; l.activationUpper = 1
            sites.append(SiteQuantization(linear: site.name, layer: l, activationQuantized: false, weightQuantized: false,
                                          rotation: r.0))
        }
        var q = QParams(toolVersion: "rotation-only", model: "", architecture: model.architecture.rawValue, scale: model.scale,
                        method: "none", weightBits: QuantBits.float, activationBits: QuantBits.float, seed: seed, inputs: "fp", patchCount: 0, patchSources: [],
                        notes: ["rotations only (no quantization): the FP model, rotated"], config: nil, sites: sites)
        q.rotation = kind
        try q.checkConsistent("rotation-only plan")
        return q
    }
}
