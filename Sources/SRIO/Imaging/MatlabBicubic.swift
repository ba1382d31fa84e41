import Foundation

/// MATLAB-compatible `imresize(img, scale, 'bicubic')` (antialiasing on, the default) on float
/// planes, as used to make the LR_bicubic benchmark inputs from HR images.
///
/// What MATLAB does, and this reproduces: cubic kernel with a = −0.5; when shrinking (scale < 1)
/// the kernel is stretched to `scale·k(scale·x)` with width `4/scale` (antialiasing); output pixel
/// i (1-based) maps to input coordinate `u = i/scale + 0.5·(1 − 1/scale)`; taps `floor(u − width/2)
/// + 0…ceil(width)+1`; weights normalised to sum 1; out-of-range taps mirrored with the edge pixel
/// repeated (`[1…n, n…1]` indexing); all-zero tap columns dropped. Height is resized first, then
/// width (MATLAB's order for equal scales). Output size `ceil(in·scale)`. Arithmetic in float64.
public enum MatlabBicubic {
    /// The cubic kernel, a = −0.5.
    @inlinable
    public static func cubic(_ x: Double) -> Double {
        let ax = abs(x), ax2 = ax * ax, ax3 = ax2 * ax
        if ax <= 1 { return 1.5 * ax3 - 2.5 * ax2 + 1 }
        if ax <= 2 { return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2 }
        return 0
    }

    /// Per output position: 0-based input indices and their normalised weights.
    public struct Contributions: Sendable {
        public var indices: [[Int]]
        public var weights: [[Double]]
    }

    /// MATLAB's `contributions(in_length, out_length, scale, @cubic, 4, true)`.
    public static func contributions(inLength: Int, outLength: Int, scale: Double) -> Contributions {
        let antialias = scale < 1
        let kernelWidth = antialias ? 4.0 / scale : 4.0
        let taps = Int(kernelWidth.rounded(.up)) + 2
        var idx: [[Int]] = [], wts: [[Double]] = []
        var colUsed = [Bool](repeating: false, count: taps)
        for i in 1...max(1, outLength) where outLength > 0 {
            let u = Double(i) / scale + 0.5 * (1 - 1 / scale)
            let left = Int((u - kernelWidth / 2).rounded(.down))
            var ii: [Int] = [], ww: [Double] = []
            for p in 0..<taps {
                let j = left + p
                let d = u - Double(j)
                ww.append(antialias ? scale * cubic(scale * d) : cubic(d))
                ii.append(mirror(j, inLength))
            }
            let s = ww.reduce(0, +)
            ww = ww.map { $0 / s }
            for p in 0..<taps where ww[p] != 0 { colUsed[p] = true }
            idx.append(ii); wts.append(ww)
        }
        // Drop tap columns whose weight is zero for every output (MATLAB's `any(weights, 1)`).
        let keep = (0..<taps).filter { colUsed[$0] }
        return Contributions(indices: idx.map { r in keep.map { r[$0] } }, weights: wts.map { r in keep.map { r[$0] } })
    }

    /// 1-based MATLAB index j → 0-based index into [1…n, n…1] (symmetric, edge repeated).
    static func mirror(_ j: Int, _ n: Int) -> Int {
        let period = 2 * n
        var m = (j - 1) % period
        if m < 0 { m += period }
        return m < n ? m : period - 1 - m
    }

    /// Output size for `inLength` at `scale`: `ceil(inLength·scale)` (MATLAB).
    public static func outputLength(_ inLength: Int, scale: Double) -> Int {
        Int((Double(inLength) * scale).rounded(.up))
    }

    /// Resizes one row-major plane of size h×w by `scale` in both directions.
    /// With `uint8Passes`, each pass's result is converted to uint8 as MATLAB does for uint8
    /// input (its resize mex returns the input's class after every dimension).
    public static func resize(plane x: [Float], width w: Int, height h: Int, scale: Double,
                              uint8Passes: Bool = false) throws -> (plane: [Float], width: Int, height: Int) {
        guard scale > 0, scale.isFinite else { throw IOError("imresize: scale must be positive, got \(scale)") }
        guard w > 0, h > 0, x.count == w * h else { throw IOError("imresize: plane of \(x.count) values is not \(w)x\(h)") }
        let oh = outputLength(h, scale: scale), ow = outputLength(w, scale: scale)
        guard oh > 0, ow > 0 else { throw IOError("imresize: \(w)x\(h) at scale \(scale) gives an empty image") }
        let ch = contributions(inLength: h, outLength: oh, scale: scale)
        let cw = contributions(inLength: w, outLength: ow, scale: scale)
        // Along H (columns of the image): tmp is oh×w, kept in float64.
        var tmp = [Double](repeating: 0, count: oh * w)
        for r in 0..<oh {
            let ii = ch.indices[r], ww = ch.weights[r]
            for c in 0..<w {
                var s = 0.0
                for k in 0..<ii.count { s += ww[k] * Double(x[ii[k] * w + c]) }
                tmp[r * w + c] = uint8Passes ? Double(matlabUInt8(s)) : s
            }
        }
        var out = [Float](repeating: 0, count: oh * ow)
        for r in 0..<oh {
            for c in 0..<ow {
                let ii = cw.indices[c], ww = cw.weights[c]
                var s = 0.0
                for k in 0..<ii.count { s += ww[k] * tmp[r * w + ii[k]] }
                out[r * ow + c] = uint8Passes ? Float(matlabUInt8(s)) : Float(s)
            }
        }
        return (out, ow, oh)
    }

    /// Reference: each output pixel as one explicit 2-D weighted sum Σᵢⱼ wH[i]·wW[j]·x[i,j] (no separable pass).
    public static func resizeReference(plane x: [Float], width w: Int, height h: Int, scale: Double) throws -> (plane: [Float], width: Int, height: Int) {
        guard scale > 0, scale.isFinite, w > 0, h > 0, x.count == w * h else { throw IOError("imresize reference: bad arguments") }
        let oh = outputLength(h, scale: scale), ow = outputLength(w, scale: scale)
        let ch = contributions(inLength: h, outLength: oh, scale: scale)
        let cw = contributions(inLength: w, outLength: ow, scale: scale)
        var out = [Float](repeating: 0, count: oh * ow)
        for r in 0..<oh {
            for c in 0..<ow {
                var s = 0.0
                for a in 0..<ch.indices[r].count {
                    for b in 0..<cw.indices[c].count {
                        s += ch.weights[r][a] * cw.weights[c][b] * Double(x[ch.indices[r][a] * w + cw.indices[c][b]])
                    }
                }
                out[r * ow + c] = Float(s)
            }
        }
        return (out, ow, oh)
    }

    /// Makes the LR image for integer `scale` as the benchmark LR files were made: HR cropped
    /// top-left to a multiple of `scale`, then `imresize(hr, 1/scale, 'bicubic')` on the 0…255 values
    /// of each channel, then MATLAB's uint8 conversion (clamp, round half away from zero).
    public static func downscale(_ hr: RGBImage, scale: Int, uint8Passes: Bool = true) throws -> RGBImage {
        guard scale >= 1 else { throw IOError("imresize: scale must be ≥ 1, got \(scale)") }
        let w = hr.width / scale * scale, h = hr.height / scale * scale
        guard w > 0, h > 0 else { throw IOError("imresize: \(hr.width)x\(hr.height) is smaller than scale \(scale)") }
        let img = try hr.cropped(width: w, height: h)
        let lw = w / scale, lh = h / scale
        var px = [UInt8](repeating: 0, count: lw * lh * 3)
        for c in 0..<3 {
            var plane = [Float](repeating: 0, count: w * h)
            for i in 0..<(w * h) { plane[i] = Float(img.pixels[3 * i + c]) }
            let r = try resize(plane: plane, width: w, height: h, scale: 1 / Double(scale), uint8Passes: uint8Passes)
            precondition(r.width == lw && r.height == lh)
            for i in 0..<(lw * lh) { px[3 * i + c] = matlabUInt8(r.plane[i]) }
        }
        return try RGBImage(width: lw, height: lh, pixels: px)
    }

    /// MATLAB's double → uint8: clamp to [0, 255], round half away from zero; NaN → 0.
    @inlinable
    public static func matlabUInt8(_ v: Float) -> UInt8 { matlabUInt8(Double(v)) }

    @inlinable
    public static func matlabUInt8(_ v: Double) -> UInt8 {
        if !(v > 0) { return 0 }
        if v >= 255 { return 255 }
        return UInt8(v.rounded(.toNearestOrAwayFromZero))
    }
}
