/// Reader for uncompressed Windows BMP (BITMAPINFOHEADER or later, BI_RGB): 24-bit BGR and
/// 32-bit BGRX (the fourth byte is ignored), bottom-up or top-down rows padded to 4 bytes.
/// That covers the T91 training set. Paletted, RLE and bitfield BMPs are refused with an error.
public enum BMPCodec {
    public static func read(path: String) throws -> RGBImage {
        let bytes = try FileBytes.read(path)
        do { return try decode(bytes) } catch let e as IOError { throw IOError("\(path): \(e.message)") }
    }

    public static func decode(_ b: [UInt8], maxPixels: Int = PNGCodec.maxPixels) throws -> RGBImage {
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        guard b.count >= 54, b[0] == 0x42, b[1] == 0x4D else { throw IOError("BMP: not a BMP file or shorter than its 54-byte header") }
        let dataOffset = u32(10), headerSize = u32(14)
        guard headerSize >= 40 else { throw IOError("BMP: unsupported header size \(headerSize) (need BITMAPINFOHEADER)") }
        let width = Int(Int32(truncatingIfNeeded: u32(18)))
        let rawHeight = Int(Int32(truncatingIfNeeded: u32(22)))
        let bpp = u16(28), compression = u32(30)
        guard compression == 0 else { throw IOError("BMP: compression \(compression) is not supported (only uncompressed BI_RGB)") }
        guard bpp == 24 || bpp == 32 else { throw IOError("BMP: \(bpp)-bit images are not supported (only 24 and 32 bit)") }
        let height = abs(rawHeight), topDown = rawHeight < 0
        guard width > 0, height > 0 else { throw IOError("BMP: bad dimensions \(width)x\(rawHeight)") }
        guard width <= 1_000_000, height <= 1_000_000, width * height <= maxPixels else {
            throw IOError("BMP: declared dimensions \(width)x\(height) exceed the limit of \(maxPixels) pixels")
        }
        let bytesPerPixel = bpp / 8
        let rowBytes = (width * bytesPerPixel + 3) / 4 * 4
        guard dataOffset >= 54, dataOffset <= b.count, b.count - dataOffset >= rowBytes * height else {
            throw IOError("BMP: file is truncated: \(width)x\(height)x\(bpp) bit needs \(rowBytes * height) bytes of pixels from offset \(dataOffset), the file has \(b.count) bytes")
        }
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let srcRow = dataOffset + (topDown ? y : height - 1 - y) * rowBytes
            for x in 0..<width {
                let s = srcRow + x * bytesPerPixel, d = (y * width + x) * 3
                px[d] = b[s + 2]; px[d + 1] = b[s + 1]; px[d + 2] = b[s]
            }
        }
        return try RGBImage(width: width, height: height, pixels: px)
    }
}
