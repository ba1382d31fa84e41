/// Which orthogonal matrix a site uses (`--rotate`).
public enum RotationKind: String, Codable, Sendable, CaseIterable {
    /// R = D·H/√n: a Hadamard matrix (`HadamardMatrix`) with seeded random signs D = diag(±1) on its rows.
    case hadamard
    /// A seeded Haar-random orthogonal matrix (`RandomOrthogonal`).
    case random
    /// Learned by block reconstruction (`harmoq refine --learn-rotations`, SpinQuant-style, on the orthogonal group),
    /// starting from the seeded Hadamard rotation; plans store its matrix.
    case learned
}

/// An orthogonal n×n matrix R applied at a linear site as x → Rᵀx before the input quantizer, with W → W·R, so
/// that (W·R)(Rᵀx) = W·x in exact arithmetic. In the engine's row layout (tokens × features) the input rows become
/// x_row·R. Built in Float64; applied in Float32 (`floatMatrix`).
public struct Rotation: Sendable, Equatable {
    public let kind: RotationKind
    public let seed: UInt64
    public let order: Int
    /// Row-major n×n, Float64.
    public let matrix: [Double]

    /// The matrix of `kind`, order n, from `seed` (the same on every platform for Hadamard: ±1/√n entries; the random
    /// kind uses libm's log/cos through Box–Muller, so plans store its matrix).
    public static func make(kind: RotationKind, order n: Int, seed: UInt64) throws -> Rotation {
        guard n >= 1 else { throw QuantError("rotation order must be ≥ 1, got \(n)") }
        switch kind {
        case .hadamard, .learned:
            let h = try HadamardMatrix.entries(order: n)
            var rng = SplitMix64(seed: seed)
            let signs: [Double] = (0..<n).map { _ in rng.next() >> 63 == 0 ? 1 : -1 }
            let inv = 1 / Double(n).squareRoot()
            var m = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { m[i * n + j] = signs[i] * Double(h[i * n + j]) * inv } }
            return Rotation(kind: kind, seed: seed, order: n, unchecked: m)
        case .random:
            return Rotation(kind: kind, seed: seed, order: n, unchecked: RandomOrthogonal.matrix(order: n, seed: seed))
        }
    }

    /// A stored matrix (e.g. read from a plan). Throws unless it is n×n and orthogonal in Float32 terms
    /// (max |RᵀR − I| ≤ `storedTolerance`).
    public init(kind: RotationKind, seed: UInt64, order n: Int, matrix: [Double]) throws {
        guard n >= 1, matrix.count == n * n else {
            throw QuantError("rotation matrix has \(matrix.count) values, expected \(n)×\(n)")
        }
        self.init(kind: kind, seed: seed, order: n, unchecked: matrix)
        let r = orthogonalityDefect
        guard r <= Rotation.storedTolerance else {
            throw QuantError("rotation matrix (\(kind.rawValue), order \(n)) is not orthogonal: max |RᵀR − I| = \(r) > \(Rotation.storedTolerance)")
        }
    }

    init(kind: RotationKind, seed: UInt64, order: Int, unchecked matrix: [Double]) {
        self.kind = kind; self.seed = seed; self.order = order; self.matrix = matrix
    }

    /// A matrix stored as Float32 is orthogonal to about n·2⁻²⁴; anything beyond this is not a rotation.
    public static let storedTolerance = 1e-5

    /// max_ij |(RᵀR − I)_ij| in Float64.
    public var orthogonalityDefect: Double {
        let n = order
        var worst = 0.0
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for k in 0..<n { s += matrix[k * n + i] * matrix[k * n + j] }
            worst = Swift.max(worst, abs(s - (i == j ? 1 : 0)))
        }}
        return worst
    }

    /// R in Float32, row-major (what the online transform multiplies by).
    public var floatMatrix: [Float] { matrix.map { Float($0) } }

    /// Rows of x (rows × n) times R, accumulated in Float64: the slow reference of the online transform.
    public func rotateRows(_ x: [Float], rows: Int) -> [Float] {
        let n = order
        precondition(x.count == rows * n)
        var y = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows { for j in 0..<n {
            var s = 0.0
            for k in 0..<n { s += Double(x[r * n + k]) * matrix[k * n + j] }
            y[r * n + j] = Float(s)
        }}
        return y
    }

    /// W·R for an m×n weight (the stored weight of a rotated site), in Float64, rounded once.
    public func rotateWeight(_ w: [Float], outputs m: Int) -> [Float] { rotateRows(w, rows: m) }

    /// Multiply–adds of the dense online transform per token (n²); a fast Hadamard transform would need n·log₂n
    /// for Sylvester orders only.
    public var multiplyAddsPerToken: Int { order * order }
}
