import CPNG  // zlib (inflate, crc32) comes through the CPNG system module, which links z

/// A minimal read-only zip reader for PyTorch checkpoints: end-of-central-directory (and its
/// ZIP64 form), central-directory entries, stored (method 0) and deflate (method 8) members,
/// CRC-32 checked. Every bound is checked against the file; a member is never inflated past its
/// declared size (a zip bomb stops there), and members larger than `maxEntryBytes` are refused.
public struct ZipArchive {
    public struct Member: Sendable {
        public let name: String
        public let method: Int
        public let compressedSize: Int
        public let uncompressedSize: Int
        public let crc32: UInt32
        let localHeaderOffset: Int
    }

    public let members: [Member]
    private let bytes: [UInt8]
    private let maxEntryBytes: Int

    public init(bytes: [UInt8], maxEntryBytes: Int = 1 << 31) throws {
        self.bytes = bytes
        self.maxEntryBytes = maxEntryBytes
        let b = bytes
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func u64(_ o: Int) throws -> Int {
            let v = UInt64(u32(o)) | UInt64(u32(o + 4)) << 32
            guard v <= UInt64(Int.max) else { throw IOError("zip: 64-bit field too large") }
            return Int(v)
        }
        guard b.count >= 22 else { throw IOError("zip: file too short (\(b.count) bytes) to be a zip archive") }
        var eocd = -1
        var i = b.count - 22
        let lowest = max(0, b.count - 22 - 65535)
        while i >= lowest {
            if b[i] == 0x50 && b[i + 1] == 0x4B && b[i + 2] == 0x05 && b[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw IOError("zip: no end-of-central-directory record (truncated or not a zip file)") }
        var count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16)
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64 locator sits just before the EOCD.
            let loc = eocd - 20
            guard loc >= 0, u32(loc) == 0x0706_4B50 else { throw IOError("zip: ZIP64 locator missing") }
            let rec = try u64(loc + 8)
            guard rec >= 0, rec + 56 <= b.count, u32(rec) == 0x0606_4B50 else { throw IOError("zip: ZIP64 end record out of range") }
            count = try u64(rec + 32); cdSize = try u64(rec + 40); cdOffset = try u64(rec + 48)
        }
        guard cdOffset <= b.count, cdSize <= b.count - cdOffset else {
            throw IOError("zip: central directory (offset \(cdOffset), \(cdSize) bytes) lies outside the \(b.count)-byte file (truncated?)")
        }
        var members: [Member] = []
        var p = cdOffset
        for k in 0..<count {
            guard p + 46 <= cdOffset + cdSize, u32(p) == 0x0201_4B50 else {
                throw IOError("zip: central-directory entry \(k) is malformed")
            }
            let method = u16(p + 10), crc = UInt32(u32(p + 16))
            var csize = u32(p + 20), usize = u32(p + 24)
            let nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32)
            var local = u32(p + 42)
            guard p + 46 + nameLen + extraLen + commentLen <= cdOffset + cdSize else {
                throw IOError("zip: central-directory entry \(k) runs past the directory")
            }
            let name = String(decoding: b[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            // ZIP64 extended information extra field (id 0x0001): present fields replace 0xFFFFFFFF ones.
            var e = p + 46 + nameLen
            let eEnd = e + extraLen
            while e + 4 <= eEnd {
                let id = u16(e), len = u16(e + 2)
                guard e + 4 + len <= eEnd else { break }
                if id == 0x0001 {
                    var q = e + 4
                    if usize == 0xFFFF_FFFF, q + 8 <= e + 4 + len { usize = try u64(q); q += 8 }
                    if csize == 0xFFFF_FFFF, q + 8 <= e + 4 + len { csize = try u64(q); q += 8 }
                    if local == 0xFFFF_FFFF, q + 8 <= e + 4 + len { local = try u64(q); q += 8 }
                }
                e += 4 + len
            }
            members.append(Member(name: name, method: method, compressedSize: csize, uncompressedSize: usize,
                                  crc32: crc, localHeaderOffset: local))
            p += 46 + nameLen + extraLen + commentLen
        }
        self.members = members
    }

    public func member(named name: String) -> Member? { members.first { $0.name == name } }

    /// The uncompressed bytes of `member`, CRC-checked.
    public func contents(of m: Member) throws -> [UInt8] {
        let b = bytes
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        guard m.uncompressedSize <= maxEntryBytes else {
            throw IOError("zip: member '\(m.name)' declares \(m.uncompressedSize) bytes, above the limit of \(maxEntryBytes)")
        }
        let lh = m.localHeaderOffset
        guard lh >= 0, lh <= b.count - 30, b[lh] == 0x50, b[lh + 1] == 0x4B, b[lh + 2] == 0x03, b[lh + 3] == 0x04 else {
            throw IOError("zip: local header of '\(m.name)' is missing or outside the file (truncated?)")
        }
        let start = lh + 30 + u16(lh + 26) + u16(lh + 28)
        guard start <= b.count, m.compressedSize <= b.count - start else {
            throw IOError("zip: data of '\(m.name)' (\(m.compressedSize) bytes at \(start)) runs past the end of the \(b.count)-byte file (truncated?)")
        }
        var out: [UInt8]
        switch m.method {
        case 0:
            guard m.compressedSize == m.uncompressedSize else { throw IOError("zip: stored member '\(m.name)' has differing sizes") }
            out = Array(b[start..<(start + m.compressedSize)])
        case 8:
            // Deflate cannot expand more than ~1032:1; a larger declared ratio is a bomb, refused before allocating.
            guard m.uncompressedSize <= m.compressedSize * 1032 + 1024 else {
                throw IOError("zip: member '\(m.name)' declares \(m.uncompressedSize) bytes from \(m.compressedSize) compressed bytes, more than deflate can produce (zip bomb or corrupt)")
            }
            out = try inflateRaw(b, start: start, count: m.compressedSize, expected: m.uncompressedSize, name: m.name)
        default:
            throw IOError("zip: member '\(m.name)' uses compression method \(m.method) (only stored and deflate are supported)")
        }
        let crc = out.withUnsafeBufferPointer { p -> UInt32 in
            UInt32(truncatingIfNeeded: CPNG.crc32(0, p.baseAddress, UInt32(p.count)))
        }
        guard crc == m.crc32 else {
            throw IOError("zip: CRC mismatch in '\(m.name)' (stored \(String(m.crc32, radix: 16)), computed \(String(crc, radix: 16)))")
        }
        return out
    }

    private func inflateRaw(_ b: [UInt8], start: Int, count: Int, expected: Int, name: String) throws -> [UInt8] {
        guard count <= Int(UInt32.max) else { throw IOError("zip: member '\(name)' is too large to inflate") }
        var out = [UInt8](repeating: 0, count: expected + 1)  // one spare byte detects output beyond the declared size
        var strm = z_stream()
        guard inflateInit2_(&strm, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw IOError("zip: inflateInit failed for '\(name)'")
        }
        defer { inflateEnd(&strm) }
        let rc: Int32 = b.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                strm.next_in = UnsafeMutablePointer(mutating: src.baseAddress! + start)
                strm.avail_in = UInt32(count)
                strm.next_out = dst.baseAddress
                strm.avail_out = UInt32(dst.count)
                return inflate(&strm, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else {
            if Int(strm.total_out) > expected {
                throw IOError("zip: member '\(name)' inflates to more than its declared \(expected) bytes (zip bomb or corrupt)")
            }
            throw IOError("zip: deflate data of '\(name)' is corrupt or truncated (zlib code \(rc))")
        }
        guard Int(strm.total_out) == expected else {
            throw IOError("zip: member '\(name)' inflated to \(strm.total_out) bytes, declared \(expected)")
        }
        out.removeLast()
        return out
    }
}
