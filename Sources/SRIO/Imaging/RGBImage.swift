/// An 8-bit RGB image, channels interleaved, rows top to bottom: pixel (y, x) channel c is
/// `pixels[(y * width + x) * 3 + c]`.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        let (n, o1) = width.multipliedReportingOverflow(by: height)
        let (bytes, o2) = n.multipliedReportingOverflow(by: 3)
        guard width >= 0, height >= 0, !o1, !o2, pixels.count == bytes else {
            throw IOError("RGBImage: \(width)x\(height) RGB does not match \(pixels.count) bytes")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// (1, 3, H, W) float tensor with values `uint8 / 255` (planar RGB), as the official test scripts feed the models.
    public func toTensor() -> Tensor {
        let n = width * height
        var data = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n {
            for c in 0..<3 { data[c * n + i] = Float(pixels[i * 3 + c]) / 255 }
        }
        return Tensor(shape: [1, 3, height, width], data: data)
    }

    /// From a (1, 3, H, W) or (3, H, W) tensor: clamp to [0, 1], ×255, round half to even, uint8
    /// (the official `tensor2img`/`np.round` conversion). NaN maps to 0.
    public init(tensor: Tensor) throws {
        let s = tensor.shape
        guard (s.count == 4 && s[0] == 1 && s[1] == 3) || (s.count == 3 && s[0] == 3) else {
            throw IOError("RGBImage(tensor:): expected shape (1,3,H,W) or (3,H,W), got \(s)")
        }
        let h = s[s.count - 2], w = s[s.count - 1], n = h * w
        var px = [UInt8](repeating: 0, count: 3 * n)
        for c in 0..<3 {
            for i in 0..<n { px[i * 3 + c] = RGBImage.quantize(tensor.data[c * n + i]) }
        }
        try self.init(width: w, height: h, pixels: px)
    }

    /// clamp(v, 0, 1) · 255 rounded half to even; NaN → 0.
    @inlinable
    public static func quantize(_ v: Float) -> UInt8 {
        if !(v > 0) { return 0 }
        if v >= 1 { return 255 }
        return UInt8((v * 255).rounded(.toNearestOrEven))
    }

    /// The top-left `w × h` region.
    public func cropped(width w: Int, height h: Int) throws -> RGBImage {
        guard w >= 0, h >= 0, w <= width, h <= height else {
            throw IOError("RGBImage: cannot crop \(width)x\(height) to \(w)x\(h)")
        }
        return try cropped(x: 0, y: 0, width: w, height: h)
    }

    /// The region with top-left corner (x, y).
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) throws -> RGBImage {
        guard x >= 0, y >= 0, w >= 0, h >= 0, x + w <= width, y + h <= height else {
            throw IOError("RGBImage: region \(w)x\(h) at (\(x),\(y)) lies outside \(width)x\(height)")
        }
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for r in 0..<h {
            let src = ((y + r) * width + x) * 3
            for k in 0..<(w * 3) { px[r * w * 3 + k] = pixels[src + k] }
        }
        return try RGBImage(width: w, height: h, pixels: px)
    }

    /// Reads a PNG or a BMP, chosen by the file's first bytes.
    public static func read(path: String) throws -> RGBImage {
        let bytes = try FileBytes.read(path)
        if bytes.count >= 2 && bytes[0] == 0x42 && bytes[1] == 0x4D {
            do { return try BMPCodec.decode(bytes) } catch let e as IOError { throw IOError("\(path): \(e.message)") }
        }
        do { return try PNGCodec.decode(bytes) } catch let e as IOError { throw IOError("\(path): \(e.message)") }
    }
}
