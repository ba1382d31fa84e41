/// Hadamard matrices: n×n, entries ±1, H·Hᵀ = n·I, so H/√n is orthogonal. Three classical constructions cover
/// the orders the SR models need (DAT-light and SwinIR-light: 60 and 120):
/// * Sylvester, n = 2^k: H₁ = [1], H₂ₙ = [[Hₙ, Hₙ], [Hₙ, −Hₙ]];
/// * Paley I, n = q + 1 with q prime, q ≡ 3 (mod 4): H = I + S, S = [[0, 1ᵀ], [−1, Q]] with the Jacobsthal matrix
///   Q[i][j] = χ(j − i) (χ the quadratic character mod q; Q is skew because χ(−1) = −1), so S is skew with
///   S·Sᵀ = q·I and H·Hᵀ = I + S·Sᵀ = n·I (60 = 59 + 1);
/// * Kronecker doubling, n = 2m with Hₘ buildable: H₂ ⊗ Hₘ (120 = 2·60).
/// Other orders (e.g. 10, 30: no Hadamard matrix of those orders exists) are refused; callers fall back to a
/// seeded random orthogonal matrix.
public enum HadamardMatrix {
    public enum Construction: String, Sendable, Codable { case sylvester, paley, kronecker }

    /// The construction used for order n (Sylvester first, then Paley, then doubling), or nil if none builds it.
    public static func construction(order n: Int) -> Construction? {
        guard n >= 1 else { return nil }
        if n & (n - 1) == 0 { return .sylvester }
        if isPrime(n - 1), (n - 1) % 4 == 3 { return .paley }
        if n % 2 == 0, construction(order: n / 2) != nil { return .kronecker }
        return nil
    }

    /// Entries (±1), row-major n×n. Throws for an order none of the constructions builds.
    public static func entries(order n: Int) throws -> [Int8] {
        guard let c = construction(order: n) else {
            throw QuantError("no Hadamard matrix of order \(n) is built here (Sylvester 2^k, Paley I q+1 with q prime ≡ 3 mod 4, "
                             + "or 2× one of those); use a random orthogonal rotation")
        }
        switch c {
        case .sylvester:
            var h: [Int8] = [1]
            var m = 1
            while m < n {
                var next = [Int8](repeating: 0, count: 4 * m * m)
                for i in 0..<m { for j in 0..<m {
                    let v = h[i * m + j]
                    next[i * 2 * m + j] = v; next[i * 2 * m + j + m] = v
                    next[(i + m) * 2 * m + j] = v; next[(i + m) * 2 * m + j + m] = -v
                }}
                h = next; m *= 2
            }
            return h
        case .paley:
            let q = n - 1
            var residue = [Bool](repeating: false, count: q)
            for x in 1..<q { residue[(x * x) % q] = true }
            func chi(_ a: Int) -> Int8 { let r = ((a % q) + q) % q; return r == 0 ? 0 : (residue[r] ? 1 : -1) }
            var h = [Int8](repeating: 0, count: n * n)
            for j in 1..<n { h[j] = 1; h[j * n] = -1 }            // S's border
            for i in 0..<q { for j in 0..<q { h[(i + 1) * n + j + 1] = chi(j - i) } }
            for i in 0..<n { h[i * n + i] += 1 }                   // + I (S has a zero diagonal)
            return h
        case .kronecker:
            let m = n / 2
            let a = try entries(order: m)
            var h = [Int8](repeating: 0, count: n * n)
            for i in 0..<m { for j in 0..<m {
                let v = a[i * m + j]
                h[i * n + j] = v; h[i * n + j + m] = v
                h[(i + m) * n + j] = v; h[(i + m) * n + j + m] = -v
            }}
            return h
        }
    }

    static func isPrime(_ p: Int) -> Bool {
        guard p >= 2 else { return false }
        var d = 2
        while d * d <= p { if p % d == 0 { return false }; d += 1 }
        return true
    }
}
