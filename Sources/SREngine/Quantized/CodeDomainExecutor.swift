/// The engine's `LinearExecutor` for code-domain fake quantization: every site in `linears` runs as a
/// `CodeDomainLinear` (it quantizes the raw site input itself); other Linear sites keep the float GEMM.
///
/// A fake-quant hook installed beside it must leave the inputs of these sites alone while this executor is the
/// model's (`runs(_:on:)`), since the executor quantizes them; if another executor replaces it, the hook fake-quantizes
/// them again and the replacement sees x̂ (for symmetric quantizers re-quantizing x̂ gives back the same codes).
public final class CodeDomainExecutor: LinearExecutor {
    public let linears: [String: CodeDomainLinear]
    /// Split rows over `Parallel.threads` for big products (the float GEMM does the same).
    public var parallel = true

    public init(linears: [String: CodeDomainLinear]) { self.linears = linears }

    public func execute(site: Site, x: UnsafePointer<Float>, ldx: Int, rows: Int,
                        out: UnsafeMutablePointer<Float>, ldo: Int) -> Bool {
        guard let l = linears[site.name], case let .linear(i, o) = site.kind,
              i == l.inFeatures, o == l.outFeatures, ldx >= i, ldo >= o else { return false }
        l.apply(x, ldx: ldx, rows: rows, into: out, ldo: ldo, parallel: parallel)
        return true
    }

    /// True when `model` currently runs `site` through this executor.
    @inline(__always)
    public func runs(_ site: Site, on model: (any SRModel)?) -> Bool {
        linears[site.name] != nil && model?.linearExecutor === self
    }
}
