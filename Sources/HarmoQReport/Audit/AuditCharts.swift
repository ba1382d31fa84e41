import Foundation
import SRCalibration

/// The charts of an audit report, built from its data (shared by the HTML writer and the tests).
public enum AuditCharts {
    /// 10·log10(v), nil/non-positive → NaN (no bar).
    static func dB(_ v: Double?) -> Double { guard let v, v > 0 else { return .nan }; return 10 * log10(v) }

    public static func sqnr(_ rows: [AuditReport.SQNRRow]) -> BarChart {
        BarChart(title: "Per-site SQNR (dB; higher = less quantization noise)", yLabel: "SQNR (dB)",
                 categories: rows.map(\.site),
                 series: [.init(name: "weights", values: rows.map { $0.weightDB ?? .nan }),
                          .init(name: "input activations", values: rows.map { $0.activationDB ?? .nan })])
    }

    /// max |x| / RMS per site: the site's input, and (rotated plans) after the online rotation.
    public static func outliers(_ o: AuditReport.Outliers) -> BarChart {
        var series: [BarChart.Series] = [.init(name: "input x", values: o.rows.map { $0.input.maxOverRMS ?? .nan })]
        if o.planRotates { series.append(.init(name: "after rotation x·R", values: o.rows.map { $0.rotated?.maxOverRMS ?? .nan })) }
        return BarChart(title: "Outliers: max |x| / RMS of each quantized site's input (lower = flatter)", yLabel: "max |x| / RMS",
                        categories: o.rows.map(\.site), series: series)
    }

    /// The paper's Figure 2: output error with only one site's weights vs only its activations quantized.
    public static func sensitivity(_ s: AuditReport.Sensitivity) -> BarChart {
        BarChart(title: "Sensitivity: output error vs FP with one site quantized (10·log10 MSE, dB; higher = worse)",
                 yLabel: "10·log10 MSE (dB)", categories: s.rows.map(\.site),
                 series: [.init(name: "weight-only", values: s.rows.map { dB($0.weightOnlyMSE) }),
                          .init(name: "activation-only", values: s.rows.map { dB($0.activationOnlyMSE) })],
                 baseline: nil)
    }

    public static func bounds(_ b: AuditReport.BoundsData) -> [Histogram] {
        [Histogram(title: "Activation step sizes across sites", xLabel: "log10 step (activation, per tensor)",
                   values: b.activationSteps.map { $0 > 0 ? log10($0) : .nan }),
         Histogram(title: "Weight step sizes across output channels", xLabel: "log10 step (weight, per output channel)",
                   values: b.weightSteps.map { $0 > 0 ? log10($0) : .nan }),
         Histogram(title: "Activation upper bounds across sites", xLabel: "upper bound", values: b.activationUppers)]
    }

    /// L_total after / before per linear site (< 1: calibration lowered the loss).
    public static func convergenceRatio(_ rows: [AuditReport.ConvergenceRow]) -> BarChart {
        func ratio(_ a: Double?, _ b: Double?) -> Double { guard let a, let b, b > 0 else { return .nan }; return a / b }
        return BarChart(title: "L_total after / before calibration per linear site (below 1 = lowered)", yLabel: "after / before",
                        categories: rows.map(\.site),
                        series: [.init(name: "deployment L_total", values: rows.map { ratio($0.after, $0.before) }),
                                 .init(name: "linearised L_total", values: rows.map { ratio($0.linearisedAfter, $0.linearisedBefore) })],
                        reference: 1)
    }

    /// ABR traces normalised by their first loss, for at most `limit` sites (those with the largest initial loss).
    public static func convergenceTraces(_ rows: [AuditReport.ConvergenceRow], limit: Int = 8) -> LineChart? {
        let traced = rows.filter { ($0.traceLosses?.count ?? 0) > 1 }
        guard !traced.isEmpty else { return nil }
        let pick = traced.sorted { ($0.traceLosses![0]) > ($1.traceLosses![0]) }.prefix(limit)
        let series = pick.map { r -> LineChart.Series in
            let l0 = r.traceLosses![0]
            let its = r.traceIterations ?? Array(0..<r.traceLosses!.count)
            return .init(name: r.site, points: zip(its, r.traceLosses!).map { (Double($0.0), l0 > 0 ? $0.1 / l0 : .nan) })
        }
        return LineChart(title: "ABR L_total per iteration / first iteration (\(pick.count) sites with the largest initial loss)",
                         xLabel: "ABR iteration", yLabel: "L_total / L_total(0)", series: Array(series), reference: 1, markers: false)
    }

    /// The training loss per iteration of a refinement, normalised by its first value: the whole model (one series plus
    /// its checkpoints on all patches), or at most `limit` blocks (those with the largest loss before).
    public static func refinementTraces(_ rec: RefinementRecord, limit: Int = 8) -> LineChart? {
        let traced = rec.stages.filter { $0.trace.count > 1 }
        guard !traced.isEmpty else { return nil }
        let pick = traced.sorted { $0.lossBefore > $1.lossBefore }.prefix(limit)
        var series: [LineChart.Series] = pick.map { st in
            let l0 = st.trace[0]
            return .init(name: st.name, points: st.trace.enumerated().map { (Double($0.offset + 1), l0 > 0 ? $0.element / l0 : .nan) })
        }
        if pick.count == 1, let st = pick.first, st.checkpoints.count > 1, st.lossBefore > 0 {
            series.append(.init(name: "\(st.name): all patches", points: st.checkpoints.map { (Double($0.iteration), $0.loss / st.lossBefore) }))
        }
        return LineChart(title: "\(rec.mode) refinement: loss per iteration / first (\(pick.count) stage\(pick.count == 1 ? "" : "s"))",
                         xLabel: "iteration", yLabel: "loss / loss(first)", series: series, reference: 1, markers: pick.count == 1)
    }

    public static func images(_ c: ImageComparison) -> BarChart {
        BarChart(title: "PSNR (Y) per image, \(c.set) ×\(c.scale)", yLabel: "PSNR (dB)", categories: c.rows.map(\.name),
                 series: [.init(name: "FP", values: c.rows.map(\.fpPSNR)), .init(name: "quantized", values: c.rows.map(\.quantPSNR))],
                 baseline: nil)
    }
}
