import Testing
import HarmoQ
import SRCalibration

/// `MethodRegistry` is the one list of calibration methods: every name the CLI and the tables accept comes from it,
/// each per-layer entry builds the method its name says, and the settings reach the HarmoQ config (hand-worked table).
@Suite("Method registry")
struct MethodRegistryTests {
    @Test func everyPerLayerNameBuildsTheMethodOfThatName() throws {
        #expect(MethodRegistry.names == ["harmoq", "harmoq-literal", "minmax", "percentile", "dobi", "mse", "2dquant-scheme", "2dquant"])
        #expect(Set(MethodRegistry.names).count == MethodRegistry.all.count)
        for m in MethodRegistry.all where m.kind == .perLayer {
            #expect(try m.method().name == m.name, "registry entry \(m.name)")
        }
        #expect(throws: QuantError.self) { try MethodRegistry.method("2dquant") }
        let e = #expect(throws: QuantError.self) { try MethodRegistry.named("harmoq-corrected") }
        #expect(e?.description.contains("harmoq, harmoq-literal, minmax") == true)
    }

    /// The defaults: `harmoq calibrate --method harmoq` = the corrected preset with 300 ABR iterations, 30 warm-up.
    @Test func defaultSettingsAreThePresetsWithTheCLIBudget() throws {
        guard case .harmoq(let c) = try MethodRegistry.method("harmoq") else { Issue.record("not HarmoQ"); return }
        var want = HarmoQConfig.corrected()
        want.iterations = 300; want.warmupIterations = 30; want.refinementRows = 1024
        #expect(c == want)
        guard case .harmoq(let l) = try MethodRegistry.method("harmoq-literal") else { Issue.record("not HarmoQ"); return }
        var wantL = HarmoQConfig.paperLiteral()
        wantL.iterations = 300; wantL.warmupIterations = 30; wantL.refinementRows = 1024
        #expect(l == wantL)
    }

    /// The default refinement after calibrating (`harmoq calibrate` without `--refine`): HarmoQ corrected runs block
    /// reconstruction with its default options (learned weights); every other method none.
    @Test func onlyHarmoQRefinesByDefault() throws {
        let h = try MethodRegistry.named("harmoq").defaultRefinement
        #expect(h?.block == BlockReconstructionOptions() && h?.model == nil)
        #expect(h?.block?.learnWeights == true)
        for m in MethodRegistry.all where m.name != "harmoq" { #expect(m.defaultRefinement == nil, "\(m.name)") }
    }

    /// Hand-worked: each setting lands in the field it names; warm-up = min(300, iterations / 10).
    @Test func settingsReachTheConfig() throws {
        var s = MethodSettings()
        s.disabled = [.hso]; s.projection = .sobel; s.projectionAxis = .channels; s.srcRegressor = .fullPrecision
        s.lambda = 0.5; s.iterations = 5000; s.refinementRows = 64; s.gradient = .exact; s.abrRollback = true
        s.activationScheme = .symmetric; s.seed = 7
        guard case .harmoq(let c) = try MethodRegistry.method("harmoq", s) else { Issue.record("not HarmoQ"); return }
        #expect(c.useSRC && !c.useHSO && c.useABR)
        #expect(c.projection == .sobel && c.projectionAxis == .channels && c.srcRegressor == .fullPrecision)
        #expect(c.lambda == 0.5 && c.iterations == 5000 && c.warmupIterations == 300 && c.refinementRows == 64)
        #expect(c.gradientMode == .exact && c.rollbackOnIncrease && c.activationScheme == nil && c.seed == 7)
        for (iterations, warmup) in [(0, 0), (9, 0), (40, 4), (100, 10), (3000, 300), (9999, 300)] {
            #expect(HarmoQConfig.warmup(forIterations: iterations) == warmup)
        }
        s = MethodSettings(); s.percentile = 99.5
        #expect(try MethodRegistry.method("percentile", s) == .percentile(99.5))
        s.percentile = 40
        #expect(throws: QuantError.self) { try MethodRegistry.method("percentile", s) }
        s = MethodSettings(); s.oneDirection = true
        #expect(try MethodRegistry.method("dobi", s) == .dobi(oneDirection: true))
        s = MethodSettings(); s.iterations = -1
        #expect(throws: QuantError.self) { try MethodRegistry.method("harmoq", s) }
    }

    /// The zero point is chosen once, in the settings, and travels in the method (`CalibrationMethod.zeroPoint`, which
    /// the calibrator reads): hand-worked table of every per-layer method × {default, integer, float}.
    @Test func zeroPointIsTheMethodsOwn() throws {
        // name: (default, with .integer, with .float); the symmetric methods have no affine grid: always float.
        let table: [String: (ZeroPoint, ZeroPoint, ZeroPoint)] = [
            "harmoq": (.integer, .integer, .float), "harmoq-literal": (.float, .integer, .float),
            "minmax": (.float, .float, .float), "percentile": (.float, .float, .float), "mse": (.float, .float, .float),
            "dobi": (.float, .integer, .float), "2dquant-scheme": (.float, .integer, .float),
        ]
        for m in MethodRegistry.all where m.kind == .perLayer {
            let want = try #require(table[m.name], "\(m.name) missing from the table")
            var s = MethodSettings()
            #expect(try m.method(s).zeroPoint == want.0, "\(m.name) default")
            s.zeroPoint = .integer
            #expect(try m.method(s).zeroPoint == want.1, "\(m.name) integer")
            s.zeroPoint = .float
            #expect(try m.method(s).zeroPoint == want.2, "\(m.name) float")
        }
        var s = MethodSettings(); s.zeroPoint = .integer
        #expect(try MethodRegistry.method("dobi", s) == .dobi(oneDirection: false, zeroPoint: .integer))
        #expect(try MethodRegistry.method("2dquant-scheme", s) == .twoDQuantScheme(zeroPoint: .integer))
    }

    /// The tables read the same registry: a Table 1 cell's method is the CLI's method with the spec's budget.
    @Test func tablesUseTheRegistry() throws {
        let spec = PaperTables.Spec.quick
        var s = MethodSettings()
        s.iterations = spec.iterations; s.refinementRows = spec.refinementRows; s.seed = spec.seed
        for name in spec.table1Methods {
            #expect(try PaperTables.method(name, spec: spec) == MethodRegistry.method(name, s), "\(name)")
        }
        s.disabled = [.src]; s.projection = .laplacian
        #expect(try PaperTables.method("harmoq", spec: spec, ablate: (false, true, true), projection: .laplacian) == MethodRegistry.method("harmoq", s))
    }
}
