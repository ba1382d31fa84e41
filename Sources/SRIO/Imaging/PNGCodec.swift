import CPNG
import Foundation

/// PNG through libpng. Reading converts every 8-bit colour type (gray, gray+alpha, RGB, RGBA,
/// palette, with or without tRNS) to 8-bit RGB exactly as OpenCV's `imread(IMREAD_COLOR)`:
/// gray is expanded to 3 equal channels, alpha is dropped (not composited), palette entries are
/// looked up, gAMA/sRGB/iCCP are ignored. **16-bit images keep the high byte of each sample**
/// (`png_set_strip_16`, OpenCV's behaviour). libpng's longjmp error path stays inside the C
/// function `cpng_decode_rgb8` (Sources/CPNG/shim.h); every error comes back as an `IOError`.
public enum PNGCodec {
    /// Images above this many pixels are refused before any pixel memory is allocated.
    /// 2²⁶ ≈ 67 M pixels (201 MB of RGB): 25× the largest DIV2K image.
    public static let maxPixels = 1 << 26

    public static func read(path: String) throws -> RGBImage {
        let bytes = try FileBytes.read(path)
        do { return try decode(bytes) } catch let e as IOError { throw IOError("\(path): \(e.message)") }
    }

    public static func decode(_ bytes: [UInt8], maxPixels: Int = PNGCodec.maxPixels) throws -> RGBImage {
        var d = cpng_decoded()
        let rc = bytes.withUnsafeBufferPointer { buf in
            cpng_decode_rgb8(buf.baseAddress, buf.count, maxPixels, &d)
        }
        guard rc == 0, let p = d.pixels else {
            let msg = withUnsafeBytes(of: d.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw IOError("PNG: \(msg)")
        }
        defer { cpng_free(&d) }
        let w = Int(d.width), h = Int(d.height)
        let px = [UInt8](UnsafeBufferPointer(start: p, count: w * h * 3))
        return try RGBImage(width: w, height: h, pixels: px)
    }

    /// Encodes as an 8-bit RGB PNG (libpng simplified API, which reports errors by return value).
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        guard image.width > 0, image.height > 0 else { throw IOError("PNG: cannot encode an empty image") }
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        img.width = UInt32(image.width)
        img.height = UInt32(image.height)
        img.format = UInt32(PNG_FORMAT_RGB)
        var size = 0
        let stride = Int32(image.width * 3)
        let ok1 = image.pixels.withUnsafeBytes { px in
            png_image_write_to_memory(&img, nil, &size, 0, px.baseAddress, stride, nil)
        }
        guard ok1 != 0, size > 0 else { throw IOError("PNG: encoder failed: \(message(img))") }
        var out = [UInt8](repeating: 0, count: size)
        let ok2 = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBytes { px in
                png_image_write_to_memory(&img, dst.baseAddress, &size, 0, px.baseAddress, stride, nil)
            }
        }
        png_image_free(&img)
        guard ok2 != 0 else { throw IOError("PNG: encoder failed: \(message(img))") }
        return Array(out.prefix(size))
    }

    /// Writes atomically (temporary file + rename).
    public static func write(_ image: RGBImage, path: String) throws {
        try AtomicFile.write(Data(try encode(image)), to: path)
    }

    private static func message(_ img: png_image) -> String {
        withUnsafeBytes(of: img.message) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
