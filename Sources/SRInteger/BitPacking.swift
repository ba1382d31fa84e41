import CIntKernels

/// Dense packing of b-bit two's-complement codes, b in `supportedBits` (layout: docs/integer.md).
///
/// A matrix of `rows × cols` codes is stored row by row; each row starts on a byte boundary and takes
/// `rowBytes(bits:cols:)` = ⌈cols·b/8⌉ bytes. Code j of a row occupies bits [j·b, j·b + b) of the row's
/// little-endian bit stream (stream bit t is bit t mod 8 of byte ⌊t/8⌋).
///
/// `pack` / `unpackReference` are the slow bit-by-bit definitions; `unpack` is the C kernel the GEMM uses,
/// tested against them.
public enum BitPacking {
    public static let supportedBits: [Int] = [2, 3, 4, 8]

    public static func rowBytes(bits: Int, cols: Int) -> Int { (cols * bits + 7) / 8 }

    /// Code range of symmetric b-bit codes: −2^(b−1) … 2^(b−1) − 1.
    public static func codeRange(bits: Int) -> ClosedRange<Int32> {
        -Int32(1 << (bits - 1))...Int32(1 << (bits - 1)) - 1
    }

    static func checkBits(_ bits: Int) throws {
        guard supportedBits.contains(bits) else {
            throw IntegerError("packed weights support \(supportedBits) bits, got \(bits)")
        }
    }

    /// Packs row-major codes; throws when a code is outside the b-bit range or the count is wrong.
    public static func pack(codes: [Int32], rows: Int, cols: Int, bits: Int) throws -> [UInt8] {
        try checkBits(bits)
        guard rows >= 0, cols >= 0, codes.count == rows * cols else {
            throw IntegerError("pack: \(codes.count) codes for a \(rows)×\(cols) matrix")
        }
        let range = codeRange(bits: bits)
        let rb = rowBytes(bits: bits, cols: cols)
        var out = [UInt8](repeating: 0, count: rows * rb)
        let mask = UInt32((1 << bits) - 1)
        for r in 0..<rows {
            for j in 0..<cols {
                let q = codes[r * cols + j]
                guard range.contains(q) else {
                    throw IntegerError("pack: code \(q) at (\(r), \(j)) is outside the \(bits)-bit range \(range)")
                }
                let u = UInt32(bitPattern: q) & mask
                for t in 0..<bits where (u >> UInt32(t)) & 1 == 1 {
                    let bit = j * bits + t
                    out[r * rb + bit / 8] |= UInt8(1) << UInt8(bit % 8)
                }
            }
        }
        return out
    }

    /// Slow bit-by-bit inverse of `pack`.
    public static func unpackReference(_ bytes: [UInt8], rows: Int, cols: Int, bits: Int) -> [Int32] {
        let rb = rowBytes(bits: bits, cols: cols)
        precondition(bytes.count >= rows * rb)
        var out = [Int32](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for j in 0..<cols {
                var u: Int32 = 0
                for t in 0..<bits {
                    let bit = j * bits + t
                    if (bytes[r * rb + bit / 8] >> UInt8(bit % 8)) & 1 == 1 { u |= Int32(1) << Int32(t) }
                }
                out[r * cols + j] = u >= Int32(1 << (bits - 1)) ? u - Int32(1 << bits) : u
            }
        }
        return out
    }

    /// The C unpacker (cik_unpack_rows): int8 codes, row-major rows × cols.
    public static func unpack(_ bytes: [UInt8], rows: Int, cols: Int, bits: Int) -> [Int8] {
        let rb = rowBytes(bits: bits, cols: cols)
        precondition(bytes.count >= rows * rb && (1...8).contains(bits))
        var out = [Int8](repeating: 0, count: rows * cols)
        guard rows > 0, cols > 0 else { return out }
        bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                cik_unpack_rows(Int32(bits), src.baseAddress!, rb, Int32(cols), Int32(rows), dst.baseAddress!, Int32(cols))
            }
        }
        return out
    }
}

/// Errors of integer execution (bad formats, unsupported quantizers).
public struct IntegerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
